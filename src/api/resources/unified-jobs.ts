import { unifiedJobRead } from '../access.js';
import { jobKinds, type JobKind } from '../../db/job-kinds.js';
import { defineResource, type Fields, type ResourceDef, type Row } from '../engine/resource.js';
import { base, ro } from './common.js';
import { displayExtraVars } from '../../scheduler/survey-secrets.js';
import { safeEnv } from '../../scheduler/redact.js';

/**
 * Unified jobs: one table, five kinds. `/unified_jobs/` shows all, `/jobs/`,
 * `/project_updates/`, ... one kind each. Reading follows the job's template (see
 * access.ts), so a user sees the jobs of templates they can read and the jobs they launched.
 */
const common: Fields = {
  ...base,
  name: ro('text', { vocabulary: 'unified_job_names' }), description: ro('text', { vocabulary: 'unified_job_descriptions' }),
  unified_job_template: ro('int', { col: 't.unified_job_template_id' }),
  launch_type: ro('text'), status: ro('text'), failed: ro('bool'), started: ro('time'), finished: ro('time'),
  canceled_on: ro('time'), elapsed: ro('float'), job_explanation: ro('text'), execution_node: ro('text'),
  // UnifiedJobListSerializer leaves job_args, job_cwd, job_env, result_traceback and
  // event_processing_finished out of every job list.
  controller_node: ro('text'), result_traceback: ro('text', { detailOnly: true }), event_processing_finished: ro('bool', { detailOnly: true }),
  events_missing: ro('int'),
  launched_by_id: ro('int', { col: 't.created_by_id' }),
  created_by: ro('int', { col: 't.created_by_id', fk: 'users' }),
  organization: ro('int', { fk: 'organizations' }),
  instance_group: ro('int', { fk: 'instance_groups' }),
  schedule: ro('int', { col: 't.schedule_id' }),
  type: ro('text', { col: 't.kind' }),
  // Stored with the job's secrets replaced (scheduler/redact.ts); never filtered on, so a
  // caller cannot probe what was hidden.
  job_args: ro('text', { detailOnly: true, noFilter: true }), job_cwd: ro('text', { detailOnly: true }),
  job_env: ro('json', { detailOnly: true, noFilter: true }), work_unit_id: ro('text', { col: 'NULL::text' }),
};

/**
 * Hidden columns of every job row: which extra vars are survey passwords, shown as
 * "$encrypted$" (AWX's display_extra_vars; never itself shown), and the summary of the job's
 * template, read from the table its kind names (template ids of different kinds overlap);
 * its `unified_job_type` is, as AWX's, the kind of job the template runs; and the local
 * project sync that ran before the job on its node (scheduler/project-sync.ts), AWX's
 * job `project_update` and inventory update `source_project_update`.
 */
const JOB_SELECT = `t.survey_passwords AS "_survey_passwords",
  CASE t.kind
    WHEN 'job' THEN (SELECT json_build_object('id', s.id, 'name', s.name, 'description', s.description, 'unified_job_type', 'job')
                       FROM job_templates s WHERE s.id = t.unified_job_template_id)
    WHEN 'project_update' THEN (SELECT json_build_object('id', s.id, 'name', s.name, 'description', s.description, 'unified_job_type', 'project_update')
                       FROM projects s WHERE s.id = t.unified_job_template_id)
    WHEN 'inventory_update' THEN (SELECT json_build_object('id', s.id, 'name', s.name, 'description', s.description, 'unified_job_type', 'inventory_update')
                       FROM inventory_sources s WHERE s.id = t.unified_job_template_id)
    WHEN 'system_job' THEN (SELECT json_build_object('id', s.id, 'name', s.name, 'description', s.description, 'unified_job_type', 'system_job')
                       FROM system_job_templates s WHERE s.id = t.unified_job_template_id)
  END AS "_s_unified_job_template",
  (SELECT s.id FROM unified_job_dependencies d JOIN unified_jobs s ON s.id = d.depends_on_id
    WHERE d.unified_job_id = t.id AND s.launch_type = 'sync' ORDER BY s.id DESC LIMIT 1) AS "_sync_update"`;

/** Shows the hidden columns of JOB_SELECT, and the environment with AWX's rules applied again (rows stored before a rule). */
function presentJob(row: Row, out: Row): void {
  if (out.extra_vars !== undefined) out.extra_vars = displayExtraVars(out.extra_vars, row._survey_passwords);
  if (out.job_env && typeof out.job_env === 'object') out.job_env = safeEnv(out.job_env as Record<string, unknown>);
  if (row._s_unified_job_template) (out.summary_fields as Row).unified_job_template = row._s_unified_job_template;
}

const jobFields: Fields = {
  job_type: ro('text'), inventory: ro('int', { fk: 'inventories' }), project: ro('int', { fk: 'projects' }),
  playbook: ro('text'), scm_branch: ro('text'), scm_revision: ro('text'), forks: ro('int'), limit: ro('text'),
  verbosity: ro('int'), extra_vars: ro('text'), job_tags: ro('text'), skip_tags: ro('text'), start_at_task: ro('text'),
  timeout: ro('int'), diff_mode: ro('bool'), become_enabled: ro('bool'), allow_simultaneous: ro('bool'), force_handlers: ro('bool'),
  artifacts: ro('json'), host_status_counts: ro('json'),
  job_template: ro('int', { col: `(CASE WHEN t.kind = 'job' THEN t.unified_job_template_id END)`, fk: 'job_templates' }),
  credential: ro('int', { fk: 'credentials' }),
  module_name: ro('text'), module_args: ro('text'),
  inventory_source: ro('int', { fk: 'inventory_sources' }),
  // Set at launch from the prompt or the template; resolved at start otherwise (scheduler/execution-environment.ts).
  execution_environment: ro('int', { fk: 'execution_environments' }),
};

const jobAccess = {
  roleType: 'job_template', idExpr: 't.unified_job_template_id',
  readSql: (g: import('../access.js').Grants, p: import('../../db/lookups.js').Params) => {
    const read = unifiedJobRead(g, p.values.length + 1);
    for (const v of read.params) p.push(v);
    return read.sql;
  },
};

const KIND_FIELDS: Record<JobKind, string[]> = {
  job: Object.keys(jobFields).filter((f) => !['module_name', 'module_args', 'inventory_source'].includes(f)),
  // host_status_counts: AWX's detail serializers of jobs, project updates and ad hoc commands carry it.
  project_update: ['project', 'scm_branch', 'scm_revision', 'job_type', 'credential', 'timeout', 'host_status_counts'],
  inventory_update: ['inventory', 'inventory_source', 'credential', 'verbosity', 'limit', 'timeout'],
  ad_hoc_command: ['inventory', 'credential', 'module_name', 'module_args', 'limit', 'forks', 'verbosity', 'job_type', 'become_enabled',
    'diff_mode', 'extra_vars', 'host_status_counts'],
  system_job: ['job_type', 'extra_vars'],
};

function relatedOf(apiPath: string, eventsPath: string, kind: string) {
  return (r: Row): Record<string, string> => {
    const u = `/api/v2/${apiPath}/${r.id}/`;
    const out: Record<string, string> = Object.fromEntries(['stdout', 'cancel', 'relaunch', 'notifications', 'activity_stream', 'credentials']
      .map((k) => [k, `${u}${k}/`]));
    out[eventsPath] = `${u}${eventsPath}/`;
    if (kind === 'job') {
      out.job_host_summaries = `${u}job_host_summaries/`;
      out.labels = `${u}labels/`;
      out.create_schedule = `${u}create_schedule/`;
    }
    if (r._sync_update != null) out[kind === 'inventory_update' ? 'source_project_update' : 'project_update'] = `/api/v2/project_updates/${r._sync_update}/`;
    if (r.unified_job_template != null) out.unified_job_template = `/api/v2/unified_job_templates/${r.unified_job_template}/`;
    return out;
  };
}

function kindResource(kind: JobKind): ResourceDef {
  const info = jobKinds[kind];
  const fields: Fields = { ...common };
  for (const f of KIND_FIELDS[kind]) fields[f] = jobFields[f];
  // Among jobs alone a job's template is its unified job template: the bare column, which
  // the (kind, unified_job_template_id, id) index answers (the CASE read every job: 110 ms
  // for a template's 20th page).
  if (kind === 'job') fields.job_template = { ...jobFields.job_template, col: 't.unified_job_template_id' };
  return defineResource({
    key: info.apiPath, type: kind, table: 'unified_jobs', where: `t.kind = '${kind}'`, fields,
    search: ['name', 'description'], defaultOrder: 'id', access: jobAccess, readOnly: true,
    accessSelect: JOB_SELECT,
    related: relatedOf(info.apiPath, info.eventsPath, kind),
    present: (row, out) => {
      out.type = kind;
      if (kind === 'inventory_update') out.source_project_update = row._sync_update ?? null;
      if (typeof out.extra_vars === 'string' && out.extra_vars === '') out.extra_vars = '{}';
      presentJob(row, out);
    },
  });
}

export const jobs = kindResource('job');
export const projectUpdates = kindResource('project_update');
export const inventoryUpdates = kindResource('inventory_update');
export const adHocCommands = kindResource('ad_hoc_command');
export const systemJobs = kindResource('system_job');

export const unifiedJobs = defineResource({
  key: 'unified_jobs', type: 'unified_job', table: 'unified_jobs', fields: { ...common, ...jobFields },
  search: ['name', 'description'], access: jobAccess, readOnly: true, noDelete: true,
  accessSelect: JOB_SELECT,
  related: (r) => relatedOf(apiPathOf(r.type), jobKinds[r.type as JobKind]?.eventsPath ?? 'workflow_nodes', r.type as string)(r),
  present: (row, out) => {
    out.type = row.type;
    presentJob(row, out);
    out.url = `/api/v2/${apiPathOf(row.type)}/${row.id}/`;
  },
});

/** API collection of a unified job's kind; workflow jobs and approvals have no events, so no entry in jobKinds. */
function apiPathOf(type: unknown): string {
  if (type === 'workflow_job' || type === 'workflow_approval') return `${type}s`;
  return jobKinds[type as JobKind].apiPath;
}

export { common as unifiedJobFields, jobAccess as unifiedJobAccess, JOB_SELECT as unifiedJobSelect };
