import { passwordsNeeded, templateCredentialIds } from '../../db/credentials.js';
import { launchJobTemplate, launchProjectUpdate, launchInventoryUpdate, type JobOverrides } from '../../scheduler/launch.js';
import { parseVars } from '../../scheduler/vars.js';
import { cancelUnifiedJob } from '../../scheduler/submit.js';
import { PlaystreamError } from '../../errors.js';
import { jobKindByApiPath } from '../../db/job-kinds.js';
import { requireLinks } from '../access.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { getObject, loadRow, requireObjectPerm, resolveId } from '../engine/crud.js';
import { resourceByKey, type Caller, type Row } from '../engine/resource.js';
import { badRequest, HttpError, jsonBody, type Router } from '../http.js';
import { recordActivity } from '../../db/activity.js';
import { applySurvey, variablesNeeded } from '../survey.js';
import { registerSurveySpec } from './survey-spec.js';
import { openSurveyPasswords } from '../../scheduler/survey-secrets.js';
import { jobTemplates } from '../resources/job-templates.js';
import { projects } from '../resources/projects.js';
import { requireEnvironmentRead } from '../resources/execution-environments.js';
import { inventorySources } from '../resources/inventories.js';

/**
 * Launch, cancel, relaunch and update: the actions that hand work to the scheduler. A
 * launch accepts a prompt only when the template asks for it (`ask_*_on_launch`); others
 * are returned under `ignored_fields`, as AWX does.
 */
const PROMPTS: Record<string, { ask: string; to: keyof JobOverrides }> = {
  extra_vars: { ask: 'ask_variables_on_launch', to: 'extra_vars' },
  limit: { ask: 'ask_limit_on_launch', to: 'limit' },
  job_tags: { ask: 'ask_tags_on_launch', to: 'job_tags' },
  skip_tags: { ask: 'ask_skip_tags_on_launch', to: 'skip_tags' },
  job_type: { ask: 'ask_job_type_on_launch', to: 'job_type' },
  verbosity: { ask: 'ask_verbosity_on_launch', to: 'verbosity' },
  inventory: { ask: 'ask_inventory_on_launch', to: 'inventory_id' },
  credentials: { ask: 'ask_credential_on_launch', to: 'credentials' },
  forks: { ask: 'ask_forks_on_launch', to: 'forks' },
  timeout: { ask: 'ask_timeout_on_launch', to: 'timeout' },
  diff_mode: { ask: 'ask_diff_mode_on_launch', to: 'diff_mode' },
  scm_branch: { ask: 'ask_scm_branch_on_launch', to: 'scm_branch' },
  labels: { ask: 'ask_labels_on_launch', to: 'limit' },
  instance_groups: { ask: 'ask_instance_groups_on_launch', to: 'limit' },
  execution_environment: { ask: 'ask_execution_environment_on_launch', to: 'execution_environment_id' },
  job_slice_count: { ask: 'ask_job_slice_count_on_launch', to: 'job_slice_count' },
};
const NOT_APPLIED = new Set(['labels', 'instance_groups']);

/**
 * A prompt the template asks for but Playstream cannot apply is refused by name (issue #15:
 * never accepted and ignored). The values that ask for nothing are let through: no labels,
 * no instance groups.
 */
function unappliedPrompt(field: string, v: unknown): string | undefined {
  if (v == null || (Array.isArray(v) && !v.length)) return undefined;
  return `Playstream does not support ${field} at launch.`;
}

/** The survey and variables prompt of a template (survey_spec is not part of its API object). */
async function surveyOf(ctx: ApiContext, id: number): Promise<{ survey_enabled: boolean; survey_spec: unknown; ask_variables_on_launch: boolean }> {
  const { rows } = await ctx.pool.query('SELECT survey_enabled, survey_spec, ask_variables_on_launch FROM job_templates WHERE id = $1', [id]);
  return rows[0];
}

/** An `inventory` prompt is one id, `credentials` a list of ids; anything else is a 400 naming the field. */
function promptedIds(field: 'inventory' | 'credentials', v: unknown, name: string = field): number | number[] | undefined {
  const id = (x: unknown) => (typeof x === 'string' && /^\d{1,15}$/.test(x) ? Number(x) : x);
  if (field === 'inventory') {
    const n = id(v);
    if (v === null) return undefined;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw badRequest({ [name]: ['A valid integer is required.'] });
    return n;
  }
  if (!Array.isArray(v)) throw badRequest({ credentials: ['Expected a list of items.'] });
  const ids = v.map((x) => id(typeof x === 'object' && x !== null ? (x as Row).id : x));
  if (ids.some((n) => typeof n !== 'number' || !Number.isSafeInteger(n))) throw badRequest({ credentials: ['Each credential must be an id.'] });
  return ids as number[];
}

/**
 * The inventory and credentials a launch brings in place of the template's are links
 * (access.ts LINKS.launch): a prompt equal to the template's own is no prompt, as AWX counts
 * it, and needs nothing beyond execute on the template; any other needs `use`.
 */
async function requirePromptLinks(ctx: ApiContext, caller: Caller, templateId: number, template: Row, overrides: JobOverrides): Promise<void> {
  await requireLinks(ctx.pool, caller.grants, 'launch', { inventory: overrides.inventory_id ?? undefined, credentials: overrides.credentials },
    { inventory: template.inventory, credentials: await templateCredentialIds(ctx.pool, templateId) }, { prompts: true });
}

/** The template's credentials, or those a launch brings in their place. */
async function launchCredentials(ctx: ApiContext, templateId: number, prompted?: number[]): Promise<number[]> {
  return prompted ?? templateCredentialIds(ctx.pool, templateId);
}

/**
 * AWX's credential_passwords: every password the launch's "ASK" credentials need, given as
 * non-empty strings, or a 400 listing the missing ones under passwords_needed_to_start.
 * Only the needed ones are kept.
 */
async function credentialPasswords(ctx: ApiContext, credentialIds: number[], given: unknown): Promise<Record<string, string>> {
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    throw badRequest({ credential_passwords: ['Expected an object of password names to passwords.'] });
  }
  const supplied = (given ?? {}) as Row;
  const needed = await passwordsNeeded(ctx.pool, ctx.secrets, credentialIds);
  const lacking = needed.filter((p) => typeof supplied[p] !== 'string' || supplied[p] === '');
  if (lacking.length) throw badRequest({ passwords_needed_to_start: lacking });
  return Object.fromEntries(needed.map((p) => [p, supplied[p] as string]));
}

function launchError(err: unknown): never {
  if (err instanceof PlaystreamError) throw badRequest({ detail: err.message });
  throw err;
}

export function registerLaunch(router: Router<ApiContext>): void {
  router.get('/api/v2/job_templates/:id/launch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, jobTemplates, req.params.id);
    const jt = await getObject(ctx, jobTemplates, caller, id);
    const body: Row = { can_start_without_user_input: !Object.keys(PROMPTS).some((k) => jt[PROMPTS[k].ask]) && !jt.survey_enabled,
      passwords_needed_to_start: await passwordsNeeded(ctx.pool, ctx.secrets, await launchCredentials(ctx, id)),
      variables_needed_to_start: [] as string[], credential_needed_to_start: false,
      inventory_needed_to_start: !jt.inventory, survey_enabled: jt.survey_enabled, job_template_data: { name: jt.name, id: jt.id, description: jt.description },
      defaults: { extra_vars: jt.extra_vars, limit: jt.limit, job_tags: jt.job_tags, skip_tags: jt.skip_tags, job_type: jt.job_type,
        verbosity: jt.verbosity, diff_mode: jt.diff_mode, scm_branch: jt.scm_branch, forks: jt.forks, timeout: jt.timeout,
        inventory: (jt.summary_fields as Row).inventory ?? { id: null, name: null },
        credentials: (jt.summary_fields as Row).credentials } };
    for (const k of Object.keys(PROMPTS)) body[PROMPTS[k].ask] = jt[PROMPTS[k].ask];
    const template = await surveyOf(ctx, id);
    body.variables_needed_to_start = variablesNeeded(template.survey_enabled, template.survey_spec);
    return { status: 200, body };
  });

  router.post('/api/v2/job_templates/:id/launch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, jobTemplates, req.params.id);
    const row = await requireObjectPerm(ctx, jobTemplates, caller, id, 'execute');
    const body = jsonBody<Row>(req);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
    const overrides: JobOverrides = {};
    const ignored: Row = {};
    const unsupported: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === 'extra_vars') continue;
      const p = PROMPTS[k];
      if (!p) { if (k !== 'credential_passwords' && k !== 'extra_data') ignored[k] = v; continue; }
      if (!row[p.ask]) { ignored[k] = v; continue; }
      if (NOT_APPLIED.has(k)) { const problem = unappliedPrompt(k, v); if (problem) unsupported[k] = [problem]; continue; }
      if (k === 'job_slice_count' && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
        throw badRequest({ job_slice_count: ['Ensure this value is greater than or equal to 1.'] });
      }
      if (k === 'execution_environment') {
        // A prompt for the EE the job runs in: one the caller can read (JobLaunchConfigAccess), null for the template's.
        if (v === null) continue;
        const ee = promptedIds('inventory', v, k) as number;
        await requireEnvironmentRead(ctx.pool, caller.grants, k, ee);
        overrides.execution_environment_id = ee;
        continue;
      }
      (overrides as Row)[p.to] = k === 'inventory' || k === 'credentials' ? promptedIds(k, v) : v;
    }
    if (Object.keys(unsupported).length) throw badRequest(unsupported);
    const template = await surveyOf(ctx, id);
    if (body.extra_vars !== undefined || template.survey_enabled) {
      let survey;
      try {
        survey = applySurvey(template, body.extra_vars);
      } catch (err) {
        throw badRequest({ extra_vars: [(err as Error).message] });
      }
      if (survey.errors.length) throw badRequest({ variables_needed_to_start: survey.errors });
      if (Object.keys(survey.ignored).length) ignored.extra_vars = survey.ignored;
      if (Object.keys(survey.accepted).length) overrides.extra_vars = survey.accepted;
    }
    if (!row.inventory && overrides.inventory_id == null) throw badRequest({ inventory: ['Job Template Inventory is missing or undefined.'] });
    await requirePromptLinks(ctx, caller, id, row, overrides);
    const passwords = await credentialPasswords(ctx, await launchCredentials(ctx, id, overrides.credentials), body.credential_passwords);
    const jobId = await launchJobTemplate(ctx.pool, id, { userId: caller.user.id, launchType: 'manual', overrides, secrets: ctx.secrets,
      credentialPasswords: passwords })
      .catch(launchError);
    // A sliced template launches a workflow job of its slices (AWX answers with `workflow_job`).
    const { rows: [launched] } = await ctx.pool.query('SELECT kind FROM unified_jobs WHERE id = $1', [jobId]);
    const sliced = launched?.kind === 'workflow_job';
    await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: sliced ? 'workflow_job' : 'job',
      object1Id: jobId, object2: 'job_template', object2Id: id, changes: { launched: true } });
    if (sliced) {
      return { status: 201, body: { workflow_job: jobId, ignored_fields: ignored, ...(await getObject(ctx, resourceByKey('workflow_jobs')!, caller, jobId)) } };
    }
    const job = await getObject(ctx, resourceByKey('jobs')!, caller, jobId);
    return { status: 201, body: { job: jobId, ignored_fields: ignored, ...job } };
  });

  for (const [path, def, launcher] of [['projects', projects, launchProjectUpdate], ['inventory_sources', inventorySources, launchInventoryUpdate]] as const) {
    router.get(`/api/v2/${path}/:id/update/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const row = await loadRow(ctx, def, caller, await resolveId(ctx, def, req.params.id));
      return { status: 200, body: { can_update: true, [path === 'projects' ? 'project' : 'inventory_source']: row.id } };
    });
    router.post(`/api/v2/${path}/:id/update/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const id = await resolveId(ctx, def, req.params.id);
      await requireObjectPerm(ctx, def, caller, id, 'update');
      const jobId = await launcher(ctx.pool, id, { userId: caller.user.id, launchType: 'manual' }).catch(launchError);
      const kind = path === 'projects' ? 'project_updates' : 'inventory_updates';
      const job = await getObject(ctx, resourceByKey(kind)!, caller, jobId);
      return { status: 202, body: { [path === 'projects' ? 'project_update' : 'inventory_update']: jobId, ...job } };
    });
  }

  for (const apiPath of Object.keys(jobKindByApiPath)) {
    router.get(`/api/v2/${apiPath}/:id/cancel/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const def = resourceByKey(apiPath)!;
      const row = await loadRow(ctx, def, caller, await resolveId(ctx, def, req.params.id));
      return { status: 200, body: { can_cancel: ['new', 'pending', 'waiting', 'running'].includes(row.status as string) } };
    });
    router.post(`/api/v2/${apiPath}/:id/cancel/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const def = resourceByKey(apiPath)!;
      const id = await resolveId(ctx, def, req.params.id);
      const row = await loadRow(ctx, def, caller, id);
      if (!caller.grants.superuser && row.created_by !== caller.user.id) {
        const perms = caller.grants.perms('job_template', row.unified_job_template as number, row.organization as number);
        if (!perms.has('admin') && !perms.has('execute')) throw new HttpError(403, { detail: 'You do not have permission to perform this action.' });
      }
      if (!(await cancelUnifiedJob(ctx.pool, id, { redis: ctx.redis, config: ctx.config }))) throw new HttpError(405, { error: 'Job cannot be canceled.' });
      return { status: 202 };
    });
  }

  router.get('/api/v2/jobs/:id/relaunch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const old = await loadRow(ctx, resourceByKey('jobs')!, caller, Number(req.params.id));
    const { rows } = await ctx.pool.query('SELECT credential_id FROM unified_job_credentials WHERE unified_job_id = $1', [old.id]);
    return { status: 200, body: { passwords_needed_to_start: await passwordsNeeded(ctx.pool, ctx.secrets, rows.map((r) => Number(r.credential_id))),
      retry_counts: {} } };
  });
  router.post('/api/v2/jobs/:id/relaunch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const jobsDef = resourceByKey('jobs')!;
    const old = await loadRow(ctx, jobsDef, caller, Number(req.params.id));
    const jtId = old.unified_job_template as number;
    if (!jtId) throw badRequest({ detail: 'Job Template for this job no longer exists.' });
    const template = await requireObjectPerm(ctx, jobTemplates, caller, jtId, 'execute');
    const body = jsonBody<Row>(req);
    // The old job's survey passwords are opened here and sealed again by the launch, which
    // never keeps a ciphertext it is given (survey-secrets.ts).
    const surveyPasswords = (old._survey_passwords ?? {}) as Row;
    const extraVars = { ...parseVars(old.extra_vars), ...openSurveyPasswords({ extra_vars: old.extra_vars, survey_passwords: surveyPasswords }, ctx.secrets) };
    const overrides: JobOverrides = { extra_vars: extraVars, limit: old.limit as string, job_tags: old.job_tags as string,
      skip_tags: old.skip_tags as string, job_type: old.job_type as 'run', verbosity: old.verbosity as number,
      inventory_id: old.inventory as number, diff_mode: old.diff_mode as boolean, forks: old.forks as number, timeout: old.timeout as number,
      credentials: (await ctx.pool.query('SELECT credential_id FROM unified_job_credentials WHERE unified_job_id = $1', [old.id])).rows.map((r) => r.credential_id) };
    // The environment it was prompted with, if any (a resolved one is resolved again, as the template may have changed).
    const { rows: [launched] } = await ctx.pool.query<{ ee: string | null }>(
      `SELECT launch_prompts::jsonb ->> 'execution_environment_id' AS ee FROM unified_jobs WHERE id = $1`, [old.id]);
    if (launched?.ee) {
      await requireEnvironmentRead(ctx.pool, caller.grants, 'execution_environment', Number(launched.ee));
      overrides.execution_environment_id = Number(launched.ee);
    }
    // Relaunch runs again with the prompts the job was launched with: the caller must be
    // able to give them now (AWX's JobAccess.can_start with its JobLaunchConfigAccess).
    await requirePromptLinks(ctx, caller, jtId, template, overrides);
    if (body.hosts === 'failed') {
      const { rows } = await ctx.pool.query(`SELECT host_name FROM job_host_summaries WHERE job_id = $1 AND (failed OR failures > 0 OR dark > 0) ORDER BY host_name`, [old.id]);
      if (!rows.length) throw badRequest({ hosts: ['No failed hosts to relaunch against.'] });
      overrides.limit = rows.map((r) => r.host_name).join(',');
    }
    // Passwords given at the first launch were never kept: a relaunch gives them again.
    const passwords = await credentialPasswords(ctx, overrides.credentials ?? [], body?.credential_passwords);
    const jobId = await launchJobTemplate(ctx.pool, jtId, { userId: caller.user.id, launchType: 'relaunch', overrides, secrets: ctx.secrets,
      secretVars: Object.keys(surveyPasswords), credentialPasswords: passwords }).catch(launchError);
    return { status: 201, body: { job: jobId, ...(await getObject(ctx, jobsDef, caller, jobId)) } };
  });

  registerSurveySpec(router, jobTemplates);
}
