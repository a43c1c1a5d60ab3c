import type pg from 'pg';
import { jobKinds, type JobKind } from '../db/job-kinds.js';
import { readSetting } from '../db/settings.js';

/**
 * Custom notification messages (AWX's NotificationTemplate.messages): per event (`started`,
 * `success`, `error`, `workflow_approval`) a one-line `message` (the subject) and a `body`,
 * rendered against the job as AWX's JobNotificationMixin.context shapes it.
 *
 * AWX renders them with sandboxed Jinja2. Playstream renders the part of that language the
 * messages are written in, `{{ job.name }}`-style substitutions of the context's fields,
 * and refuses anything else when the template is saved (a `{% if %}`, a filter, a field the
 * context lacks), naming the message: a message is never stored to be sent as something
 * other than what was written.
 */
export const MESSAGE_EVENTS = ['started', 'success', 'error', 'workflow_approval'] as const;
const APPROVAL_EVENTS = ['running', 'approved', 'timed_out', 'denied'];

/** The job fields a message may name (AWX's JOB_FIELDS_ALLOWED_LIST, less what Playstream's jobs do not have). */
const JOB_FIELDS = ['id', 'type', 'url', 'created', 'modified', 'name', 'description', 'job_type', 'playbook', 'forks', 'limit',
  'verbosity', 'job_tags', 'skip_tags', 'start_at_task', 'timeout', 'launch_type', 'status', 'failed', 'started', 'finished',
  'elapsed', 'job_explanation', 'execution_node', 'controller_node', 'allow_simultaneous', 'scm_revision', 'diff_mode',
  'scm_branch', 'artifacts', 'host_status_counts', 'force_handlers', 'use_fact_cache'];
const HOST_COUNTS = ['skipped', 'ok', 'changed', 'failed', 'failures', 'dark', 'processed', 'rescued', 'ignored'];
const SUMMARY: Record<string, string[]> = {
  inventory: ['id', 'name', 'description', 'organization_id', 'kind'],
  project: ['id', 'name', 'description', 'status', 'scm_type'],
  job_template: ['id', 'name', 'description'],
  unified_job_template: ['id', 'name', 'description', 'unified_job_type'],
  instance_group: ['id', 'name'],
  created_by: ['id', 'username', 'first_name', 'last_name'],
  schedule: ['id', 'name', 'description', 'next_run'],
};
/** AWX context fields Playstream's jobs do not have: naming one is refused, not rendered empty. */
const NOT_PROVIDED = ['job_slice_number', 'job_slice_count', 'custom_virtualenv', 'approval_status',
  'approval_node_name', 'workflow_url'];

/** Is `path` (`job.summary_fields.inventory.name`) a field of the context? */
function knownPath(path: string[]): boolean {
  const [root, ...rest] = path;
  if (['job_friendly_name', 'url', 'job_metadata'].includes(root)) return rest.length === 0;
  if (root !== 'job') return false;
  if (rest.length === 0) return true;
  const [field, sub, leaf, ...more] = rest;
  if (more.length) return false;
  if (field === 'host_status_counts') return sub === undefined || HOST_COUNTS.includes(sub);
  if (field === 'summary_fields') return sub === undefined || (sub in SUMMARY && (leaf === undefined || SUMMARY[sub].includes(leaf)));
  if (field === 'artifacts') return leaf === undefined;
  return sub === undefined && JOB_FIELDS.includes(field);
}

const TAG = /\{\{(.*?)\}\}|\{%|\{#/gs;

/** AWX's WorkflowApproval.context: an approval's messages name these, and nothing of a job. */
const APPROVAL_CONTEXT = ['approval_status', 'approval_node_name', 'workflow_url', 'job_metadata'];

/** Problems with one template: each construct Playstream does not render, or field the context lacks. */
function templateProblems(template: string, approval = false): string[] {
  const problems: string[] = [];
  for (const m of template.matchAll(TAG)) {
    if (m[1] === undefined) { problems.push(`Unable to render message '${template}': Playstream renders only {{ field }} substitutions, not ${m[0]} blocks.`); continue; }
    const expr = m[1].trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(expr)) {
      problems.push(`Unable to render message '${template}': Playstream renders only {{ field }} substitutions, not {{ ${expr} }}.`);
      continue;
    }
    const path = expr.split('.');
    if (approval) {
      if (path.length !== 1 || !APPROVAL_CONTEXT.includes(path[0])) problems.push(`Field '${expr}' unavailable`);
      continue;
    }
    if (path[0] === 'job' && NOT_PROVIDED.includes(path[1])) problems.push(`Field '${expr}' is not provided by Playstream.`);
    else if (!knownPath(path)) problems.push(`Field '${expr}' unavailable`);
  }
  return problems;
}

/** AWX's validate_messages (structure, then each template), plus the webhook body being a JSON object. */
export function messagesProblems(messages: unknown, notificationType: string): string[] {
  if (messages === null || messages === undefined) return [];
  if (typeof messages !== 'object' || Array.isArray(messages)) return [`Expected dict for 'messages' field, found ${Array.isArray(messages) ? 'list' : typeof messages}`];
  const problems: string[] = [];
  const check = (event: string, pair: unknown, approval = false) => {
    if (pair === null || pair === undefined) return;
    if (typeof pair !== 'object' || Array.isArray(pair)) { problems.push(`Expected dict for event '${event}', found ${typeof pair}`); return; }
    for (const [kind, value] of Object.entries(pair)) {
      if (kind !== 'message' && kind !== 'body') { problems.push(`Message type '${kind}' invalid, must be either 'message' or 'body'`); continue; }
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string') { problems.push(`Expected string for '${kind}', found ${typeof value}`); continue; }
      if (kind === 'message' && value.includes('\n')) { problems.push(`Messages cannot contain newlines (found newline in ${event} event)`); continue; }
      const found = templateProblems(value, approval);
      problems.push(...found);
      if (!found.length && kind === 'body' && notificationType === 'webhook' && value.trim()) {
        let parsed: unknown;
        try { parsed = JSON.parse(renderTemplate(value, approval ? STUB_APPROVAL_CONTEXT : STUB_CONTEXT)); } catch { parsed = undefined; }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          problems.push(`Webhook body for '${event}' should be a json dictionary. Found type '${parsed === undefined ? 'str' : Array.isArray(parsed) ? 'list' : typeof parsed}'.`);
        }
      }
    }
  };
  for (const [event, value] of Object.entries(messages)) {
    if (!(MESSAGE_EVENTS as readonly string[]).includes(event)) {
      problems.push(`Event '${event}' invalid, must be one of 'started', 'success', 'error', or 'workflow_approval'`);
      continue;
    }
    if (event !== 'workflow_approval') { check(event, value); continue; }
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) { problems.push(`Expected dict for event '${event}', found ${typeof value}`); continue; }
    for (const [sub, pair] of Object.entries(value)) {
      if (!APPROVAL_EVENTS.includes(sub)) {
        problems.push(`Workflow Approval event '${sub}' invalid, must be one of 'running', 'approved', 'timed_out', or 'denied'`);
        continue;
      }
      check(sub, pair, true);
    }
  }
  return problems;
}

export type MessageContext = Record<string, unknown>;

/** A value as Jinja2 prints it: Python's spelling of booleans and None, JSON for structures. */
function printed(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Renders the substitutions of a template that messagesProblems accepted; a missing value renders empty (Jinja's ChainableUndefined). */
export function renderTemplate(template: string, context: MessageContext): string {
  return template.replace(/\{\{(.*?)\}\}/gs, (_all, expr: string) => {
    let v: unknown = context;
    for (const key of expr.trim().split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    return printed(v);
  });
}

const STUB_CONTEXT: MessageContext = {
  job: { id: 42, type: 'job', url: '/api/v2/jobs/42/', name: 'Stub', status: 'successful', failed: false, host_status_counts: {},
    summary_fields: {} },
  job_friendly_name: 'Job', url: '/#/jobs/playbook/42', job_metadata: '{}',
};

const STUB_APPROVAL_CONTEXT: MessageContext = { approval_status: 'approved', approval_node_name: 'Stub', workflow_url: '/jobs/workflow_job/42',
  job_metadata: '{}' };

/** The event whose message a notification carries, from the job status it was made for. */
export function messageEvent(status: unknown): 'started' | 'success' | 'error' {
  return status === 'running' ? 'started' : status === 'successful' ? 'success' : 'error';
}

/** The context a job's messages render against (AWX's JobNotificationMixin.context). */
export async function jobMessageContext(db: Pick<pg.Pool, 'query'>, jobId: number): Promise<MessageContext | null> {
  const { rows: [j] } = await db.query(
    `SELECT j.*, i.name AS inv_name, i.description AS inv_description, i.organization_id AS inv_org, i.kind AS inv_kind,
            p.name AS proj_name, p.description AS proj_description, p.status AS proj_status, p.scm_type AS proj_scm_type,
            g.name AS ig_name, u.username, u.first_name, u.last_name,
            s.name AS sched_name, s.description AS sched_description, s.next_run AS sched_next_run,
            t.name AS ujt_name, t.description AS ujt_description, t.kind AS ujt_kind
       FROM unified_jobs j
       LEFT JOIN inventories i ON i.id = j.inventory_id
       LEFT JOIN projects p ON p.id = j.project_id
       LEFT JOIN instance_groups g ON g.id = j.instance_group_id
       LEFT JOIN users u ON u.id = j.created_by_id
       LEFT JOIN schedules s ON s.id = j.schedule_id
       LEFT JOIN (SELECT id, name, description, 'job_template' AS kind FROM job_templates
                  UNION ALL SELECT id, name, description, 'project' FROM projects
                  UNION ALL SELECT id, name, description, 'inventory_source' FROM inventory_sources
                  UNION ALL SELECT id, name, description, 'system_job_template' FROM system_job_templates
                  UNION ALL SELECT id, name, description, 'workflow_job_template' FROM workflow_job_templates) t ON t.id = j.unified_job_template_id
      WHERE j.id = $1`, [jobId]);
  if (!j) return null;
  const info = jobKinds[j.kind as JobKind];
  const url = `/api/v2/${info?.apiPath ?? 'unified_jobs'}/${j.id}/`;
  // AWX's get_ui_url: the job's page in the web console, under TOWER_URL_BASE.
  const base = await readSetting(db, 'TOWER_URL_BASE', 'http://127.0.0.1:8013', (v) => typeof v === 'string');
  const uiUrl = `${base.replace(/\/+$/, '')}/jobs/${j.kind}/${j.id}${j.kind === 'workflow_job' ? '' : '/output'}`;
  const summary: Record<string, unknown> = {};
  if (j.inventory_id) summary.inventory = { id: Number(j.inventory_id), name: j.inv_name, description: j.inv_description, organization_id: j.inv_org, kind: j.inv_kind ?? '' };
  if (j.project_id) summary.project = { id: Number(j.project_id), name: j.proj_name, description: j.proj_description, status: j.proj_status, scm_type: j.proj_scm_type };
  if (j.unified_job_template_id && j.ujt_name != null) {
    summary.unified_job_template = { id: Number(j.unified_job_template_id), name: j.ujt_name, description: j.ujt_description,
      unified_job_type: j.ujt_kind === 'job_template' ? 'job' : j.ujt_kind === 'workflow_job_template' ? 'workflow_job' : j.ujt_kind };
    if (j.ujt_kind === 'job_template') summary.job_template = { id: Number(j.unified_job_template_id), name: j.ujt_name, description: j.ujt_description };
  }
  if (j.instance_group_id) summary.instance_group = { id: Number(j.instance_group_id), name: j.ig_name };
  if (j.created_by_id) summary.created_by = { id: Number(j.created_by_id), username: j.username, first_name: j.first_name, last_name: j.last_name };
  if (j.schedule_id) summary.schedule = { id: Number(j.schedule_id), name: j.sched_name, description: j.sched_description, next_run: j.sched_next_run };
  const job: Record<string, unknown> = { summary_fields: summary, url, type: j.kind };
  for (const f of JOB_FIELDS) if (!(f in job) && f in j) job[f] = f === 'id' ? Number(j.id) : j[f];
  job.host_status_counts = j.host_status_counts ?? {};
  const friendly = (j.kind as string).split('_').map((w: string) => w[0].toUpperCase() + w.slice(1)).join(' ');
  return {
    job, job_friendly_name: friendly, url: uiUrl,
    job_metadata: JSON.stringify({ id: Number(j.id), name: j.name, url: uiUrl, created_by: j.username ?? null, started: j.started, finished: j.finished,
      status: j.status, traceback: j.result_traceback ?? '' }, null, 4),
  };
}
