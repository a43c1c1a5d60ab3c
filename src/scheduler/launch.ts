import type pg from 'pg';
import { templateCredentialIds } from '../db/credentials.js';
import { PlaystreamError } from '../errors.js';
import type { SecretBox } from '../security/secrets.js';
import { submitUnifiedJob, type SubmittedJob } from './submit.js';
import { sealSurveyPasswords, surveyPasswordQuestions } from './survey-secrets.js';
import { parseVars } from './vars.js';
import { launchWorkflowJobTemplate } from './workflow/launch-workflow.js';
import { effectiveSliceCount, launchSlicedJob } from './workflow/slices.js';

/**
 * Turning templates into pending unified jobs. Each launcher copies its template's fields
 * (plus the overrides the caller already accepted: prompts and RBAC are the API's business)
 * and hands the row to submitUnifiedJob, the one way work enters the scheduler.
 */
type Queryable = Pick<pg.Pool, 'query'>;

export type LaunchType = 'manual' | 'relaunch' | 'callback' | 'scheduled' | 'dependency' | 'workflow' | 'webhook' | 'sync' | 'scm';

export interface LaunchOptions {
  userId?: number | null;
  launchType?: LaunchType;
  scheduleId?: number | null;
  overrides?: JobOverrides;
  /** Seals survey passwords in the job (survey-secrets.ts); a caller without it stores them as given, masked and redacted. */
  secrets?: SecretBox;
  /** The webhook delivery that launched the job (api/routes/webhooks.ts). */
  webhook?: { service: string; guid: string };
  /** Passwords for the job's "ASK" credential inputs (db/credentials.ts passwordsNeeded), sealed with `secrets`. */
  credentialPasswords?: Record<string, string>;
  /** Variables to seal besides the survey's password questions: a relaunch's survey_passwords. */
  secretVars?: string[];
  /** This job is slice `number` of `count` of a sliced job (workflow/slices.ts): it runs on its share of the hosts. */
  slice?: { number: number; count: number };
}

export interface JobOverrides {
  extra_vars?: string | Record<string, unknown>;
  limit?: string;
  job_tags?: string;
  skip_tags?: string;
  job_type?: 'run' | 'check';
  verbosity?: number;
  inventory_id?: number;
  /** Replace the template's credentials (AWX's `credentials` prompt). */
  credentials?: number[];
  forks?: number;
  timeout?: number;
  diff_mode?: boolean;
  scm_branch?: string;
  /** Slices to split the job into (AWX's ask_job_slice_count_on_launch prompt); the template's otherwise. */
  job_slice_count?: number;
  /** The execution environment prompt (ask_execution_environment_on_launch); the template's otherwise. */
  execution_environment_id?: number;
}

function common(opts: LaunchOptions): Record<string, unknown> {
  return { launch_type: opts.launchType ?? 'manual', created_by_id: opts.userId ?? null, schedule_id: opts.scheduleId ?? null,
    ...(opts.webhook ? { webhook_service: opts.webhook.service, webhook_guid: opts.webhook.guid } : {}) };
}

async function one<T extends pg.QueryResultRow>(db: Queryable, sql: string, id: number, what: string): Promise<T> {
  const { rows } = await db.query<T>(sql, [id]);
  if (!rows[0]) throw new PlaystreamError('PS_ERR_NOT_FOUND', `${what} ${id} not found`);
  return rows[0];
}

export async function launchJobTemplate(db: Queryable, jobTemplateId: number, opts: LaunchOptions = {}): Promise<number> {
  const jt = await one<Record<string, any>>(db, 'SELECT * FROM job_templates WHERE id = $1', jobTemplateId, 'job template');
  const sliceCount = opts.overrides?.job_slice_count ?? jt.job_slice_count;
  if (!opts.slice && sliceCount > 1) {
    const slices = await effectiveSliceCount(db, { ...jt, job_slice_count: sliceCount }, opts.overrides?.inventory_id ?? jt.inventory_id);
    if (slices > 1) return launchSlicedJob(db, jt, slices, opts);
  }
  const templateCredentials = opts.overrides?.credentials ? [] : await templateCredentialIds(db, jobTemplateId);
  const job = jobFromTemplate(jt, templateCredentials, opts);
  return submitUnifiedJob(db, job.fields, job.credentialIds);
}

/**
 * The job a job template launches with `opts`, without writing it: its row and credentials
 * (the template's, `templateCredentials`, unless the credentials prompt replaces them).
 * Throws PS_ERR_LAUNCH when the template cannot launch. The workflow pass builds many at
 * once with it and submits them together (submitUnifiedJobs).
 */
export function jobFromTemplate(jt: Record<string, any>, templateCredentials: number[], opts: LaunchOptions = {}): SubmittedJob {
  const o = opts.overrides ?? {};
  const inventoryId = o.inventory_id ?? jt.inventory_id;
  if (!inventoryId) throw new PlaystreamError('PS_ERR_LAUNCH', `job template ${jt.name} has no inventory`);
  if (!jt.project_id) throw new PlaystreamError('PS_ERR_LAUNCH', `job template ${jt.name} has no project`);
  if (!jt.playbook) throw new PlaystreamError('PS_ERR_LAUNCH', `job template ${jt.name} has no playbook`);
  const prompted = parseVars(o.extra_vars);
  const sealed = sealSurveyPasswords(opts.secrets, surveyPasswordQuestions(jt.survey_enabled, jt.survey_spec),
    { ...parseVars(jt.extra_vars), ...prompted }, opts.secretVars);
  const extraVars = sealed.vars;
  // launch_prompts keeps the prompt as given, except that its survey passwords are the sealed values.
  const prompts = o.extra_vars === undefined ? o : { ...o, extra_vars: Object.fromEntries(Object.keys(prompted).map((k) => [k, extraVars[k]])) };
  const credentialIds = o.credentials ?? templateCredentials;
  return { credentialIds, fields: {
    kind: 'job', name: jt.name, unified_job_template_id: jt.id, organization_id: jt.organization_id, ...common(opts),
    job_type: o.job_type ?? jt.job_type, inventory_id: inventoryId, project_id: jt.project_id, playbook: jt.playbook,
    scm_branch: o.scm_branch ?? jt.scm_branch, forks: o.forks ?? jt.forks, limit: o.limit ?? jt.limit,
    verbosity: o.verbosity ?? jt.verbosity, extra_vars: Object.keys(extraVars).length ? JSON.stringify(extraVars) : '',
    job_tags: o.job_tags ?? jt.job_tags, skip_tags: o.skip_tags ?? jt.skip_tags, start_at_task: jt.start_at_task,
    execution_environment_id: o.execution_environment_id ?? jt.execution_environment_id ?? null,
    timeout: o.timeout ?? jt.timeout, diff_mode: o.diff_mode ?? jt.diff_mode, become_enabled: jt.become_enabled,
    allow_simultaneous: opts.slice ? true : jt.allow_simultaneous, use_fact_cache: jt.use_fact_cache, force_handlers: jt.force_handlers,
    credential_passwords: sealPasswords(opts), launch_prompts: JSON.stringify(prompts),
    survey_passwords: JSON.stringify(sealed.surveyPasswords),
    ...(opts.slice ? { job_slice_number: opts.slice.number, job_slice_count: opts.slice.count } : {}),
  } };
}

/** The launch's credential passwords as the job keeps them until its runner reads them: sealed, never in clear. */
function sealPasswords(opts: LaunchOptions): string {
  const given = opts.credentialPasswords ?? {};
  if (!Object.keys(given).length) return '';
  if (!opts.secrets) throw new PlaystreamError('PS_ERR_LAUNCH', 'credential passwords need the secret box to be kept');
  return opts.secrets.encrypt(JSON.stringify(given));
}

export async function launchProjectUpdate(db: Queryable, projectId: number, opts: LaunchOptions = {}): Promise<number> {
  const p = await one<Record<string, any>>(db, 'SELECT * FROM projects WHERE id = $1', projectId, 'project');
  if (!p.scm_type) throw new PlaystreamError('PS_ERR_LAUNCH', `project ${p.name} is a manual project and cannot be updated`);
  return submitUnifiedJob(db, {
    kind: 'project_update', name: p.name, unified_job_template_id: p.id, organization_id: p.organization_id, ...common(opts),
    job_type: 'check', project_id: p.id, scm_branch: p.scm_branch, credential_id: p.credential_id, timeout: p.timeout,
  });
}

export async function launchInventoryUpdate(db: Queryable, inventorySourceId: number, opts: LaunchOptions = {}): Promise<number> {
  const s = await one<Record<string, any>>(db,
    `SELECT s.*, i.organization_id, i.name AS inventory_name FROM inventory_sources s JOIN inventories i ON i.id = s.inventory_id
      WHERE s.id = $1`, inventorySourceId, 'inventory source');
  return submitUnifiedJob(db, {
    kind: 'inventory_update', name: `${s.inventory_name} - ${s.name}`, unified_job_template_id: s.id,
    organization_id: s.organization_id, ...common(opts), inventory_source_id: s.id, inventory_id: s.inventory_id,
    credential_id: s.credential_id, verbosity: s.verbosity, limit: s.limit, timeout: s.timeout, scm_branch: s.scm_branch,
  });
}

export interface AdHocFields {
  inventory_id: number;
  module_name?: string;
  module_args?: string;
  limit?: string;
  forks?: number;
  verbosity?: number;
  credential_id?: number | null;
  job_type?: 'run' | 'check';
  extra_vars?: string | Record<string, unknown>;
  become_enabled?: boolean;
  diff_mode?: boolean;
  timeout?: number;
  created_by_id?: number | null;
  launch_type?: LaunchType;
}

export async function launchAdHocCommand(db: Queryable, fields: AdHocFields): Promise<number> {
  const inv = await one<{ organization_id: number }>(db, 'SELECT organization_id FROM inventories WHERE id = $1',
    fields.inventory_id, 'inventory');
  const moduleName = fields.module_name || 'command';
  if (['command', 'shell'].includes(moduleName) && !fields.module_args) {
    throw new PlaystreamError('PS_ERR_VALIDATION', `no argument passed to ${moduleName} module`);
  }
  const extraVars = parseVars(fields.extra_vars);
  return submitUnifiedJob(db, {
    kind: 'ad_hoc_command', name: moduleName, organization_id: inv.organization_id, launch_type: fields.launch_type ?? 'manual',
    created_by_id: fields.created_by_id ?? null, inventory_id: fields.inventory_id, module_name: moduleName,
    module_args: fields.module_args ?? '', limit: fields.limit ?? '', forks: fields.forks ?? 0, verbosity: fields.verbosity ?? 0,
    credential_id: fields.credential_id ?? null, job_type: fields.job_type ?? 'run', become_enabled: fields.become_enabled ?? false,
    diff_mode: fields.diff_mode ?? false, timeout: fields.timeout ?? 0,
    extra_vars: Object.keys(extraVars).length ? JSON.stringify(extraVars) : '',
  }, fields.credential_id ? [fields.credential_id] : []);
}

export async function launchSystemJob(db: Queryable, systemJobTemplateId: number,
  opts: LaunchOptions & { extraVars?: Record<string, unknown> } = {}): Promise<number> {
  const t = await one<Record<string, any>>(db, 'SELECT * FROM system_job_templates WHERE id = $1', systemJobTemplateId,
    'system job template');
  return submitUnifiedJob(db, {
    kind: 'system_job', name: t.name, unified_job_template_id: t.id, ...common(opts), job_type: t.job_type,
    extra_vars: JSON.stringify(opts.extraVars ?? {}),
  });
}

/** Launches whatever kind of template `templateId` names (the four kinds share one id sequence). */
export async function launchUnifiedJobTemplate(db: Queryable, templateId: number, opts: LaunchOptions = {}): Promise<number> {
  const { rows } = await db.query<{ kind: string }>(
    `SELECT 'job_template' AS kind FROM job_templates WHERE id = $1
     UNION ALL SELECT 'project' FROM projects WHERE id = $1
     UNION ALL SELECT 'inventory_source' FROM inventory_sources WHERE id = $1
     UNION ALL SELECT 'system_job_template' FROM system_job_templates WHERE id = $1
     UNION ALL SELECT 'workflow_job_template' FROM workflow_job_templates WHERE id = $1`, [templateId]);
  switch (rows[0]?.kind) {
    case 'job_template': return launchJobTemplate(db, templateId, opts);
    case 'project': return launchProjectUpdate(db, templateId, opts);
    case 'inventory_source': return launchInventoryUpdate(db, templateId, opts);
    case 'system_job_template': return launchSystemJob(db, templateId,
      { ...opts, extraVars: opts.overrides?.extra_vars ? parseVars(opts.overrides.extra_vars) : undefined });
    case 'workflow_job_template': {
      const o = opts.overrides ?? {};
      return launchWorkflowJobTemplate(db, templateId, { ...opts, workflowOverrides: { extra_vars: o.extra_vars ? parseVars(o.extra_vars) : undefined,
        inventory_id: o.inventory_id, limit: o.limit, scm_branch: o.scm_branch, job_tags: o.job_tags, skip_tags: o.skip_tags } });
    }
    default: throw new PlaystreamError('PS_ERR_NOT_FOUND', `unified job template ${templateId} not found`);
  }
}
