import type pg from 'pg';
import { templateCredentialIds } from '../db/credentials.js';
import { log } from '../log.js';
import type { JobOverrides } from './launch.js';
import { parseVars } from './vars.js';

/**
 * A schedule's saved prompts: AWX's launch configuration fields (LaunchConfigurationBase),
 * kept in schedules.launch_prompts as {"limit": "web1", "forks": 3, ...} with credentials
 * in schedule_credentials. Two places read them, with AWX's one rule
 * (JobTemplate._accept_or_ignore_job_kwargs):
 * - the API, when a schedule is saved: a prompt that differs from the template's own value
 *   needs the template's ask_*_on_launch, otherwise 400 naming the field;
 * - the schedule pass, when it launches: the prompts the template accepts *now* are applied
 *   and the rest dropped with a warning (a template whose ask flag was turned off after the
 *   schedule was saved), as AWX's Schedule.get_job_kwargs does.
 * Job templates take prompts, and workflow job templates the five they may ask for
 * (inventory, limit, scm_branch, job_tags, skip_tags; no credentials) and their variables and
 * survey answers; any prompt on a project, inventory source or system job template schedule
 * is "not allowed on launch" (UnifiedJobTemplate's rule).
 */
type Queryable = Pick<pg.Pool, 'query'>;

interface PromptRule {
  /** The job template flag that allows the prompt. */
  ask: string;
  /** The job template column the prompt replaces. */
  column: string;
  /** Its name among a launch's overrides. */
  to: keyof JobOverrides;
}

export const SCHEDULE_PROMPTS: Record<string, PromptRule> = {
  inventory: { ask: 'ask_inventory_on_launch', column: 'inventory_id', to: 'inventory_id' },
  scm_branch: { ask: 'ask_scm_branch_on_launch', column: 'scm_branch', to: 'scm_branch' },
  job_type: { ask: 'ask_job_type_on_launch', column: 'job_type', to: 'job_type' },
  job_tags: { ask: 'ask_tags_on_launch', column: 'job_tags', to: 'job_tags' },
  skip_tags: { ask: 'ask_skip_tags_on_launch', column: 'skip_tags', to: 'skip_tags' },
  limit: { ask: 'ask_limit_on_launch', column: 'limit', to: 'limit' },
  diff_mode: { ask: 'ask_diff_mode_on_launch', column: 'diff_mode', to: 'diff_mode' },
  verbosity: { ask: 'ask_verbosity_on_launch', column: 'verbosity', to: 'verbosity' },
  forks: { ask: 'ask_forks_on_launch', column: 'forks', to: 'forks' },
  timeout: { ask: 'ask_timeout_on_launch', column: 'timeout', to: 'timeout' },
};

export type SchedulePrompts = Record<string, unknown>;

/** The prompts a workflow job template may ask for (AWX's WorkflowJobTemplate ask_mapping, labels aside). */
const WORKFLOW_PROMPTS = new Set(['inventory', 'scm_branch', 'job_tags', 'skip_tags', 'limit']);

export const NOT_CONFIGURED = 'Field is not configured to prompt on launch.';
export const NOT_ALLOWED = 'Field is not allowed on launch.';

/** What the prompt rule needs of a template: its kind, and for a job template its row and its project's branch rule. */
export interface PromptTemplate {
  kind: 'job_template' | 'workflow_job_template' | 'project' | 'inventory_source' | 'system_job_template' | null;
  row: Record<string, any> | null;
  credentialIds: number[];
  /** A system job template's job_type (cleanup_jobs, ...). */
  jobType?: string;
}

export async function loadPromptTemplate(db: Queryable, templateId: number): Promise<PromptTemplate> {
  const { rows: [jt] } = await db.query(`SELECT jt.*, p.scm_branch AS project_scm_branch, p.allow_override AS project_allow_override
      FROM job_templates jt LEFT JOIN projects p ON p.id = jt.project_id WHERE jt.id = $1`, [templateId]);
  if (jt) {
    return { kind: 'job_template', row: jt, credentialIds: await templateCredentialIds(db, templateId) };
  }
  const { rows: [wfjt] } = await db.query('SELECT * FROM workflow_job_templates WHERE id = $1', [templateId]);
  if (wfjt) return { kind: 'workflow_job_template', row: wfjt, credentialIds: [] };
  const { rows: [other] } = await db.query<{ kind: PromptTemplate['kind']; job_type: string | null }>(
    `SELECT 'project' AS kind, NULL AS job_type FROM projects WHERE id = $1
     UNION ALL SELECT 'inventory_source', NULL FROM inventory_sources WHERE id = $1
     UNION ALL SELECT 'system_job_template', job_type FROM system_job_templates WHERE id = $1`, [templateId]);
  return { kind: other?.kind ?? null, row: null, credentialIds: [], jobType: other?.job_type ?? undefined };
}

function sameValue(rule: PromptRule, prompt: unknown, current: unknown): boolean {
  if (rule.column === 'inventory_id') return current != null && Number(prompt) === Number(current);
  return prompt === current;
}

/**
 * AWX's _accept_or_ignore_job_kwargs over a saved configuration: the overrides the template
 * accepts, and an error list by field for the prompts it refuses. A prompt equal to the
 * template's value is no prompt (neither accepted nor refused), as in AWX.
 */
export function sortPrompts(template: PromptTemplate, prompts: SchedulePrompts, credentialIds: number[]): {
  accepted: JobOverrides; errors: Record<string, string[]>;
} {
  const accepted: Record<string, unknown> = {};
  const errors: Record<string, string[]> = {};
  const given = Object.keys(SCHEDULE_PROMPTS).filter((k) => prompts[k] != null);
  const jt = template.row;
  if (template.kind === 'workflow_job_template' && jt) {
    for (const k of given) {
      const rule = SCHEDULE_PROMPTS[k];
      if (!WORKFLOW_PROMPTS.has(k)) errors[k] = [NOT_ALLOWED];
      else if (sameValue(rule, prompts[k], jt[rule.column])) continue;
      else if (!jt[rule.ask]) errors[k] = [NOT_CONFIGURED];
      else accepted[rule.to] = rule.column === 'inventory_id' ? Number(prompts[k]) : prompts[k];
    }
    if (credentialIds.length) errors.credentials = [NOT_ALLOWED];
    return { accepted: accepted as JobOverrides, errors };
  }
  if (template.kind !== 'job_template' || !jt) {
    for (const k of given) errors[k] = [NOT_ALLOWED];
    if (credentialIds.length) errors.credentials = [NOT_ALLOWED];
    return { accepted, errors };
  }
  for (const k of given) {
    const rule = SCHEDULE_PROMPTS[k];
    const value = prompts[k];
    if (sameValue(rule, value, jt[rule.column])) continue;
    // A template without a branch runs its project's: naming that branch is no prompt either.
    if (k === 'scm_branch' && jt.scm_branch === '' && value === jt.project_scm_branch) continue;
    if (!jt[rule.ask]) { errors[k] = [NOT_CONFIGURED]; continue; }
    if (k === 'scm_branch' && value !== jt.project_scm_branch && !jt.project_allow_override) {
      errors[k] = ['Project does not allow override of branch.'];
      continue;
    }
    accepted[rule.to] = rule.column === 'inventory_id' ? Number(value) : value;
  }
  const own = new Set(template.credentialIds);
  if (credentialIds.some((id) => !own.has(id))) {
    if (jt.ask_credential_on_launch) accepted.credentials = credentialIds;
    else errors.credentials = [NOT_CONFIGURED];
  }
  if (!jt.inventory_id && accepted.inventory_id == null && !errors.inventory) {
    errors.inventory = ['Job Template inventory is missing or undefined.'];
  }
  return { accepted: accepted as JobOverrides, errors };
}

/**
 * AWX's _accept_or_ignore_variables over a schedule's extra_data, at launch: every variable
 * when the template asks for variables, a survey question's answer when the survey is on
 * (answers were checked when the schedule was saved), nothing else; a variable equal to the
 * template's own value is no prompt. `rejected` names the rest.
 */
export function sortExtraData(jt: Record<string, any>, extraData: Record<string, unknown>): { accepted: Record<string, unknown>; rejected: string[] } {
  const accepted: Record<string, unknown> = {};
  const rejected: string[] = [];
  const questions = new Set<string>(jt.survey_enabled && Array.isArray(jt.survey_spec?.spec)
    ? jt.survey_spec.spec.map((q: { variable?: unknown }) => q?.variable).filter((v: unknown) => typeof v === 'string') : []);
  let own: Record<string, unknown> = {};
  try { own = parseVars(jt.extra_vars); } catch { /* a template whose own vars do not parse fails at launch, saying so */ }
  for (const [k, v] of Object.entries(extraData)) {
    if (jt.ask_variables_on_launch || questions.has(k)) accepted[k] = v;
    else if (!(k in own && JSON.stringify(own[k]) === JSON.stringify(v))) rejected.push(k);
  }
  return { accepted, rejected };
}

/**
 * The overrides a scheduled launch applies: the schedule's prompts the template accepts at
 * launch time. Refused ones are logged and dropped (AWX's Schedule.get_job_kwargs); the API
 * refused them when the schedule was saved, so only a template changed since gets here.
 */
export async function scheduledLaunchOverrides(db: Queryable, schedule: { id: number; unified_job_template_id: number;
  launch_prompts: SchedulePrompts | null; extra_data: Record<string, unknown> | null }): Promise<JobOverrides> {
  const { rows } = await db.query<{ credential_id: string }>(
    'SELECT credential_id FROM schedule_credentials WHERE schedule_id = $1 ORDER BY credential_id', [schedule.id]);
  const credentialIds = rows.map((r) => Number(r.credential_id));
  const prompts = schedule.launch_prompts ?? {};
  const extraData = schedule.extra_data && typeof schedule.extra_data === 'object' ? schedule.extra_data : {};
  const hasVars = Object.keys(extraData).length > 0;
  if (!credentialIds.length && !hasVars && !Object.keys(SCHEDULE_PROMPTS).some((k) => prompts[k] != null)) return {};
  const template = await loadPromptTemplate(db, Number(schedule.unified_job_template_id));
  // Only job and workflow job templates sort their variables; a system job's `days` was checked when the schedule was saved.
  if ((template.kind !== 'job_template' && template.kind !== 'workflow_job_template') || !template.row) return hasVars ? { extra_vars: extraData } : {};
  const { accepted, errors } = sortPrompts(template, prompts, credentialIds);
  const vars = sortExtraData(template.row, extraData);
  if (vars.rejected.length) errors.extra_data = [`Variables ${vars.rejected.join(', ')} are not allowed on launch.`];
  if (Object.keys(errors).length) log.warn('schedule prompts dropped: the template no longer accepts them', { schedule: schedule.id, errors });
  return Object.keys(vars.accepted).length ? { ...accepted, extra_vars: vars.accepted } : accepted;
}
