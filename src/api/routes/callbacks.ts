import dns from 'node:dns/promises';
import { passwordsNeeded, templateCredentialIds } from '../../db/credentials.js';
import { loadInventoryHosts } from '../../db/host-filter.js';
import { Params } from '../../db/lookups.js';
import { launchJobTemplate } from '../../scheduler/launch.js';
import { parseVars } from '../../scheduler/vars.js';
import { equalSecrets } from '../../security/secrets.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { requireObjectPerm, resolveId } from '../engine/crud.js';
import { type ApiRequest, badRequest, forbidden, type Router } from '../http.js';
import { jobTemplates } from '../resources/job-templates.js';
import { variablesNeeded } from '../survey.js';

/**
 * Provisioning callbacks (AWX's JobTemplateCallback): a freshly built machine POSTs the
 * template's `host_config_key` to `/api/v2/job_templates/N/callback/` and the template runs
 * on that machine alone. The machine is found by the request's address: the inventory host
 * whose effective name (`ansible_host`, else its name) is that address or resolves to it, or
 * the host the address's reverse DNS names. Exactly one must match; a callback job already
 * pending for it, a template that needs input (survey, ASK passwords) or no inventory are
 * 400s with AWX's messages; a wrong key is a 403. The address is the TCP peer's: a proxy in
 * front of Playstream makes every callback come from the proxy.
 */
const MAX_DNS_LOOKUPS = 200;

/** The request's address as a host would name it: IPv4-mapped IPv6 as plain IPv4. */
function remoteOf(req: ApiRequest): string {
  return req.remoteAddress.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

async function matchingHosts(ctx: ApiContext, inventoryId: number, remote: string): Promise<{ id: number; name: string }[]> {
  const remotes = new Set([remote]);
  try { for (const name of await dns.reverse(remote)) remotes.add(name); } catch { /* no reverse name */ }
  const params = new Params();
  const inv = await loadInventoryHosts(ctx.pool, inventoryId, params);
  if (!inv) return [];
  const { rows } = await ctx.pool.query<{ id: number; name: string; variables: string }>(
    `SELECT t.id, t.name, t.variables FROM hosts t WHERE ${inv.hosts} AND t.enabled`, params.values);
  const effective = rows.map((h) => {
    let vars: Record<string, unknown> = {};
    try { vars = parseVars(h.variables); } catch { /* unreadable vars: its name */ }
    return { host: h, name: String(vars.ansible_host ?? vars.ansible_ssh_host ?? h.name) };
  });
  const direct = effective.filter((e) => remotes.has(e.name));
  if (direct.length === 1) return [direct[0].host];
  const matches = new Map(direct.map((e) => [e.host.id, e.host]));
  for (const e of effective.slice(0, MAX_DNS_LOOKUPS)) {
    try {
      const ips = (await dns.lookup(e.name, { all: true })).map((a) => a.address).filter((a) => a !== e.name);
      if (ips.some((ip) => remotes.has(ip))) matches.set(e.host.id, e.host);
    } catch { /* does not resolve */ }
  }
  return [...matches.values()];
}

/** The body's fields: JSON, or a form (`host_config_key=...`), as curl from a kickstart sends it. */
function callbackBody(req: ApiRequest): { key: string; extraVars: unknown } {
  const text = req.body.toString('utf8');
  if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
    try {
      const body = JSON.parse(text || '{}');
      return { key: String(body?.host_config_key ?? ''), extraVars: body?.extra_vars };
    } catch {
      throw badRequest({ detail: 'JSON parse error' });
    }
  }
  return { key: new URLSearchParams(text).get('host_config_key') ?? '', extraVars: undefined };
}

export function registerCallbacks(router: Router<ApiContext>): void {
  router.post('/api/v2/job_templates/:id/callback/', async (req, ctx) => {
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id)) throw forbidden();
    const { key, extraVars } = callbackBody(req);
    const { rows: [jt] } = await ctx.pool.query('SELECT id, host_config_key, inventory_id, ask_variables_on_launch, survey_enabled, survey_spec FROM job_templates WHERE id = $1', [id]);
    if (!jt || !jt.host_config_key || !equalSecrets(key, jt.host_config_key)) throw forbidden();
    if (!jt.inventory_id) throw badRequest({ msg: 'Cannot start automatically, an inventory is required.' });
    const hosts = await matchingHosts(ctx, jt.inventory_id, remoteOf(req));
    if (!hosts.length) throw badRequest({ msg: 'No matching host could be found!' });
    if (hosts.length > 1) throw badRequest({ msg: 'Multiple hosts matched the request!' });
    if (variablesNeeded(jt.survey_enabled, jt.survey_spec).length
      || (await passwordsNeeded(ctx.pool, ctx.secrets, await templateCredentialIds(ctx.pool, id))).length) {
      throw badRequest({ msg: 'Cannot start automatically, user input required!' });
    }
    const limit = hosts[0].name;
    const { rowCount } = await ctx.pool.query(
      `SELECT 1 FROM unified_jobs WHERE kind = 'job' AND unified_job_template_id = $1 AND "limit" = $2 AND status IN ('pending', 'waiting', 'running')`, [id, limit]);
    if (rowCount) throw badRequest({ msg: 'Host callback job already pending.' });
    const vars = extraVars !== undefined && jt.ask_variables_on_launch ? withoutAnsibleVars(parseVars(extraVars as string)) : undefined;
    const jobId = await launchJobTemplate(ctx.pool, id, { launchType: 'callback', secrets: ctx.secrets, overrides: { limit, ...(vars ? { extra_vars: vars } : {}) } });
    return { status: 201, headers: { location: `/api/v2/jobs/${jobId}/` }, body: { job: jobId } };
  }, { anonymousBody: true });

  router.get('/api/v2/job_templates/:id/callback/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, jobTemplates, req.params.id);
    await requireObjectPerm(ctx, jobTemplates, caller, id, 'admin');
    const { rows: [jt] } = await ctx.pool.query('SELECT host_config_key, inventory_id FROM job_templates WHERE id = $1', [id]);
    const hosts = jt.inventory_id ? await matchingHosts(ctx, jt.inventory_id, remoteOf(req)) : [];
    return { status: 200, body: { host_config_key: jt.host_config_key, matching_hosts: hosts.map((h) => h.name) } };
  });
}

/** AWX's extract_ansible_vars: a callback's extra vars never set ansible_* variables. */
function withoutAnsibleVars(vars: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(vars).filter(([k]) => !k.startsWith('ansible_')));
}
