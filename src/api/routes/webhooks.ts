import crypto from 'node:crypto';
import { PlaystreamError } from '../../errors.js';
import { launchJobTemplate } from '../../scheduler/launch.js';
import { launchWorkflowJobTemplate } from '../../scheduler/workflow/launch-workflow.js';
import { equalSecrets } from '../../security/secrets.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { requireObjectPerm, resolveId } from '../engine/crud.js';
import type { ResourceDef } from '../engine/resource.js';
import { type ApiRequest, badRequest, forbidden, jsonBody, type Router } from '../http.js';
import { jobTemplates, newWebhookKey } from '../resources/job-templates.js';
import { workflowJobTemplates } from '../resources/workflows.js';

/**
 * GitHub and GitLab webhooks on job templates and workflow job templates, as AWX receives
 * them (`POST /api/v2/job_templates/N/github/`, `/api/v2/workflow_job_templates/N/gitlab/`,
 * ...): no user, the template's key proves the sender — GitHub signs the body (X-Hub-Signature: sha1=HMAC(key, body)), GitLab
 * sends the key itself (X-Gitlab-Token). A delivery launches the template once (a delivery
 * id seen before is acknowledged and dropped) with the event as extra vars under AWX's
 * names (`awx_webhook_event_type`, `_guid`, `_ref`, `_status_api`, `_payload`, and the same
 * with `tower_`). Anything that does not prove itself is a 403 that says nothing more.
 * `GET/POST .../webhook_key/` shows and rotates the key (template admins).
 */
const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

interface Service {
  name: 'github' | 'gitlab';
  proves(req: ApiRequest, key: string): boolean;
  eventType(req: ApiRequest): string | undefined;
  guid(req: ApiRequest): string | undefined;
  /** Where the event's commit is, per event type (a dotted path into the payload). */
  refKeys: Record<string, string>;
  statusApi(type: string | undefined, payload: Record<string, any>, ref: unknown): string | null;
}

const github: Service = {
  name: 'github',
  proves: (req, key) => {
    const [alg, sig] = (req.headers['x-hub-signature'] ?? '').split('=');
    return alg === 'sha1' && !!sig && equalSecrets(crypto.createHmac('sha1', key).update(req.body).digest('hex'), sig);
  },
  eventType: (req) => req.headers['x-github-event'],
  guid: (req) => req.headers['x-github-delivery'],
  refKeys: { pull_request: 'pull_request.head.sha', pull_request_review: 'pull_request.head.sha',
    pull_request_review_comment: 'pull_request.head.sha', push: 'after', release: 'release.tag_name',
    commit_comment: 'comment.commit_id', create: 'ref', page_build: 'build.commit' },
  statusApi: (type, payload) => (type === 'pull_request' ? payload.pull_request?.statuses_url ?? null : null),
};

const gitlab: Service = {
  name: 'gitlab',
  proves: (req, key) => equalSecrets(req.headers['x-gitlab-token'] ?? '', key),
  eventType: (req) => req.headers['x-gitlab-event'],
  guid: (req) => crypto.createHash('sha1').update(req.body).digest('hex'),
  refKeys: { 'Push Hook': 'checkout_sha', 'Tag Push Hook': 'checkout_sha', 'Merge Request Hook': 'object_attributes.last_commit.id' },
  statusApi: (type, payload, ref) => {
    if (!type || !(type in gitlab.refKeys) || !payload.project?.web_url) return null;
    const u = new URL(payload.project.web_url);
    return `${u.protocol}//${u.host}/api/v4/projects/${payload.project.id}/statuses/${ref}`;
  },
};

function refOf(payload: unknown, dotted: string | undefined): unknown {
  if (!dotted) return null;
  let v: unknown = payload;
  for (const k of dotted.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v === undefined || v === '0000000000000000000000000000000000000000' ? null : v;
}

/** The templates a delivery can launch: each with its table and how it launches with the event's vars. */
const RECEIVERS: { def: ResourceDef; launch: (ctx: ApiContext, id: number, extraVars: Record<string, unknown>, webhook: { service: string; guid: string }) => Promise<number> }[] = [
  { def: jobTemplates, launch: (ctx, id, extraVars, webhook) => launchJobTemplate(ctx.pool, id, { launchType: 'webhook',
    overrides: { extra_vars: extraVars }, secrets: ctx.secrets, webhook }) },
  // A workflow's event vars reach every node's job, as the workflow's extra vars do.
  { def: workflowJobTemplates, launch: (ctx, id, extraVars, webhook) => launchWorkflowJobTemplate(ctx.pool, id, { launchType: 'webhook',
    workflowOverrides: { extra_vars: extraVars }, webhook }) },
];

export function registerWebhooks(router: Router<ApiContext>): void {
  for (const { def, launch } of RECEIVERS) registerReceiver(router, def, launch);
}

function registerReceiver(router: Router<ApiContext>, def: ResourceDef, launch: (typeof RECEIVERS)[number]['launch']): void {
  for (const service of [github, gitlab]) {
    router.post(`/api/v2/${def.key}/:id/${service.name}/`, async (req, ctx) => {
      const id = Number(req.params.id);
      if (!Number.isSafeInteger(id)) throw forbidden();
      const { rows: [jt] } = await ctx.pool.query(
        `SELECT id, webhook_key FROM ${def.table} WHERE id = $1 AND webhook_service = $2 AND webhook_key <> ''`, [id, service.name]);
      if (!jt || !service.proves(req, ctx.secrets.decrypt(jt.webhook_key))) throw forbidden();
      const guid = service.guid(req) ?? '';
      const { rowCount } = await ctx.pool.query('SELECT 1 FROM unified_jobs WHERE unified_job_template_id = $1 AND webhook_guid = $2 AND webhook_service = $3',
        [id, guid, service.name]);
      if (guid && rowCount) return { status: 202, body: { message: 'Webhook previously received, aborting.' } };
      const payload = jsonBody<Record<string, any>>(req);
      const type = service.eventType(req);
      const ref = refOf(payload, type ? service.refKeys[type] : undefined);
      const extraVars: Record<string, unknown> = {};
      for (const prefix of ['awx', 'tower']) {
        Object.assign(extraVars, { [`${prefix}_webhook_event_type`]: type ?? null, [`${prefix}_webhook_event_guid`]: guid,
          [`${prefix}_webhook_event_ref`]: ref, [`${prefix}_webhook_status_api`]: service.statusApi(type, payload, ref),
          [`${prefix}_webhook_payload`]: payload });
      }
      await launch(ctx, id, extraVars, { service: service.name, guid }).catch((err) => {
        if (err instanceof PlaystreamError) throw badRequest({ detail: err.message });
        throw err;
      });
      return { status: 202, body: { message: 'Job queued.' } };
    }, { anonymousBody: true, maxBody: MAX_WEBHOOK_BYTES });
  }

  router.get(`/api/v2/${def.key}/:id/webhook_key/`, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, def, req.params.id);
    await requireObjectPerm(ctx, def, caller, id, 'admin');
    const { rows } = await ctx.pool.query(`SELECT webhook_key FROM ${def.table} WHERE id = $1`, [id]);
    return { status: 200, body: { webhook_key: rows[0]?.webhook_key ? ctx.secrets.decrypt(rows[0].webhook_key) : '' } };
  });
  router.post(`/api/v2/${def.key}/:id/webhook_key/`, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, def, req.params.id);
    await requireObjectPerm(ctx, def, caller, id, 'admin');
    const key = newWebhookKey();
    await ctx.pool.query(`UPDATE ${def.table} SET webhook_key = $2, modified = now() WHERE id = $1`, [id, ctx.secrets.encrypt(key)]);
    return { status: 201, body: { webhook_key: key } };
  });
}
