import { requireLink, requireLinks } from '../access.js';
import type { ApiContext } from '../context.js';
import { insertRow, updateRow } from '../engine/crud.js';
import { prepared } from '../../db/prepared.js';
import { defineResource, type Caller, type Fields, type Queryable, type Row } from '../engine/resource.js';
import { badRequest, HttpError } from '../http.js';
import { displayExtraVars } from '../../scheduler/survey-secrets.js';
import { parseVars } from '../../scheduler/vars.js';
import { base, bool, fk, grantRole, int, named, ro, text, varsText } from './common.js';
import { newWebhookKey } from './job-templates.js';
import { unifiedJobAccess, unifiedJobFields, unifiedJobSelect } from './unified-jobs.js';

/**
 * Workflow job templates, their nodes, workflow jobs and workflow job nodes (AWX's field
 * names and rules). A node's prompts are checked against its template as AWX checks them:
 * a prompt the template does not ask for is a 400 naming the field, and pointing a node at
 * a template needs the right to start it (access.ts LINKS.workflow_job_template_node).
 *
 * Fields AWX defines that Playstream does not implement yet are refused when given a value
 * (400 naming the field), never stored and ignored.
 */
const NOT_IMPLEMENTED = 'Not implemented by Playstream for workflows yet.';

function refuseGiven(data: Row, names: string[], isGiven: (v: unknown) => boolean = (v) => v !== undefined && v !== null): void {
  const errors: Record<string, string[]> = {};
  for (const n of names) if (isGiven(data[n])) errors[n] = [NOT_IMPLEMENTED];
  if (Object.keys(errors).length) throw badRequest(errors);
  for (const n of names) delete data[n];
}

const WFJT_ASK = ['ask_variables_on_launch', 'ask_inventory_on_launch', 'ask_scm_branch_on_launch', 'ask_limit_on_launch',
  'ask_labels_on_launch', 'ask_tags_on_launch', 'ask_skip_tags_on_launch'] as const;

export const workflowJobTemplates = defineResource({
  key: 'workflow_job_templates', type: 'workflow_job_template', table: 'workflow_job_templates',
  fields: {
    ...named,
    organization: fk('organizations'), inventory: fk('inventories'),
    limit: text({ nullAs: '' }), scm_branch: text({ nullAs: '' }), job_tags: text({ nullAs: '' }), skip_tags: text({ nullAs: '' }),
    extra_vars: { type: 'json', col: 't.extra_vars', writable: true },
    survey_enabled: bool(), allow_simultaneous: bool(),
    // Refused when given (prepare): a workflow's nodes resolve their own execution environment.
    execution_environment: { type: 'int', col: 'NULL::bigint', writable: true },
    ...Object.fromEntries(WFJT_ASK.map((f) => [f, bool()])),
    // Received as a job template's (routes/webhooks.ts); Bitbucket Data Center is not implemented: not a valid choice.
    webhook_service: text({ choices: ['', 'github', 'gitlab'], nullAs: '' }),
    webhook_credential: fk('credentials'),
    webhook_key: { type: 'text', writeOnly: true },
    status: ro('text'), last_job_run: ro('time'), last_job_failed: ro('bool'), last_job: ro('int', { col: 't.last_job_id' }),
    next_job_run: ro('time', { col: 'NULL::timestamptz' }),
  },
  search: ['name', 'description'],
  namedUrl: ['name', 'organization.name'],
  access: {
    roleType: 'workflow_job_template',
    // AWX's WorkflowJobTemplateAccess.can_add: workflow admin of the organization (mandatory but for superusers), checked with the links.
    canCreate: (_ctx, grants, data) => data.organization != null || grants.superuser,
  },
  objectRoles: ['admin_role', 'execute_role', 'read_role', 'approval_role'],
  related: (r) => {
    const u = `/api/v2/workflow_job_templates/${r.id}/`;
    return Object.fromEntries(['workflow_jobs', 'launch', 'workflow_nodes', 'schedules', 'activity_stream', 'access_list', 'object_roles',
      'survey_spec', 'labels', 'copy', 'webhook_key',
      'notification_templates_started', 'notification_templates_success', 'notification_templates_error', 'notification_templates_approvals']
      .map((k) => [k, `${u}${k}/`]).concat([['webhook_receiver', r.webhook_service ? `${u}${r.webhook_service}/` : '']]));
  },
  extraSummary: async (ctx, rows) => {
    const { rows: labels } = await ctx.pool.query(
      `SELECT wl.workflow_job_template_id AS w, l.id, l.name FROM workflow_job_template_labels wl JOIN labels l ON l.id = wl.label_id
        WHERE wl.workflow_job_template_id = ANY($1::bigint[]) ORDER BY l.name`, [rows.map((r) => r.id)]);
    for (const r of rows) {
      const l = labels.filter((x) => Number(x.w) === Number(r.id)).map(({ w: _w, ...x }) => x);
      (r.summary_fields as Row).labels = { count: l.length, results: l };
    }
  },
  present: (_row, out) => {
    if (out.extra_vars === '' || out.extra_vars == null) out.extra_vars = '';
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    // Labels as a launch prompt are not implemented (the template's own labels are: its labels/ list).
    refuseGiven(data, ['ask_labels_on_launch'], (v) => v === true);
    refuseGiven(data, ['execution_environment']);
    if (!existing && data.organization == null && !caller.grants.superuser) {
      throw badRequest({ organization: ['An organization is required to create a workflow job template for normal user'] });
    }
    await requireLinks(ctx.pool, caller.grants, 'workflow_job_template', data, existing);
    if (data.extra_vars !== undefined) data.extra_vars = varsText('extra_vars', data.extra_vars);
    // The webhook credential posts job status back to the forge, which Playstream does not do: refused, not dropped.
    if (data.webhook_credential != null) throw badRequest({ webhook_credential: ['Reporting job status to GitHub or GitLab is not supported by Playstream.'] });
    delete data.webhook_credential;
    // The key is made here, never taken from the client: a new service gets a new one, none none.
    delete data.webhook_key;
    if (data.webhook_service !== undefined && data.webhook_service !== (existing?.webhook_service ?? '')) {
      data.webhook_key = data.webhook_service ? ctx.secrets.encrypt(newWebhookKey()) : '';
    }
    return data;
  },
  afterCreate: async (_ctx, db, id, _data, caller) => {
    if (!caller.grants.superuser) await grantRole(db, 'workflow_job_template', id, 'admin_role', caller.user.id);
  },
  // extra_vars is a text column written from text or an object (the engine would JSON-encode a json field's text again).
  insert: async (_ctx, db, data) => {
    const { extra_vars: vars, ...rest } = data;
    const id = await insertRow(db, workflowJobTemplates, rest);
    if (vars !== undefined) await db.query('UPDATE workflow_job_templates SET extra_vars = $2 WHERE id = $1', [id, vars]);
    return id;
  },
  update: async (_ctx, db, id, data) => {
    const { extra_vars: vars, ...rest } = data;
    await updateRow(db, workflowJobTemplates, id, rest);
    if (vars !== undefined) await db.query('UPDATE workflow_job_templates SET extra_vars = $2, modified = now() WHERE id = $1', [id, vars]);
  },
});

/** The prompts a node may carry, and the template flag that accepts each (AWX's ask_mapping). */
const NODE_PROMPTS: Record<string, { job_template?: string; workflow_job_template?: string }> = {
  inventory: { job_template: 'ask_inventory_on_launch', workflow_job_template: 'ask_inventory_on_launch' },
  limit: { job_template: 'ask_limit_on_launch', workflow_job_template: 'ask_limit_on_launch' },
  job_tags: { job_template: 'ask_tags_on_launch', workflow_job_template: 'ask_tags_on_launch' },
  skip_tags: { job_template: 'ask_skip_tags_on_launch', workflow_job_template: 'ask_skip_tags_on_launch' },
  scm_branch: { job_template: 'ask_scm_branch_on_launch', workflow_job_template: 'ask_scm_branch_on_launch' },
  job_type: { job_template: 'ask_job_type_on_launch' },
  verbosity: { job_template: 'ask_verbosity_on_launch' },
  diff_mode: { job_template: 'ask_diff_mode_on_launch' },
};

/** Node prompts not implemented yet (AWX has them on every launch config). */
const NODE_REFUSED = ['execution_environment', 'forks', 'job_slice_count', 'timeout', 'labels', 'instance_groups'];

const edgeIds = (kind: string, table: string) =>
  `to_json(ARRAY(SELECT e.to_id FROM ${table} e WHERE e.from_id = t.id AND e.kind = '${kind}' ORDER BY e.to_id))`;

const nodePromptFields: Fields = {
  inventory: fk('inventories'),
  limit: text({ nullAs: null }), job_tags: text({ nullAs: null }), skip_tags: text({ nullAs: null }), scm_branch: text({ nullAs: null }),
  job_type: text({ choices: ['run', 'check'], nullAs: null }), verbosity: int({ nullAs: null }), diff_mode: bool({ nullAs: null }),
  extra_data: { type: 'json', writable: true },
  ...Object.fromEntries(NODE_REFUSED.map((f) => [f, { type: 'json', col: 'NULL::int', writable: true }])),
};

/** A node's template of any kind: its kind and the row its prompts are checked against. */
export async function nodeTemplate(db: Queryable, id: number): Promise<{ kind: string; row: Row } | null> {
  for (const [kind, table] of [['job_template', 'job_templates'], ['workflow_job_template', 'workflow_job_templates'],
    ['project', 'projects'], ['inventory_source', 'inventory_sources'], ['system_job_template', 'system_job_templates'],
    ['workflow_approval_template', 'workflow_approval_templates']]) {
    const { rows } = await db.query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
    if (rows[0]) return { kind, row: rows[0] };
  }
  return null;
}

/** AWX's _accept_or_ignore_job_kwargs on a node's prompts: what the template does not ask for is an error naming the field. */
export function checkNodePrompts(template: { kind: string; row: Row } | null, prompts: Row): void {
  if (!template) return;
  const errors: Record<string, string[]> = {};
  for (const [field, asks] of Object.entries(NODE_PROMPTS)) {
    const v = prompts[field];
    if (v === undefined || v === null) continue;
    const ask = asks[template.kind as 'job_template'];
    const current = template.row[field === 'inventory' ? 'inventory_id' : field];
    if (ask && template.row[ask]) continue;
    if (ask && current !== undefined && String(current ?? '') === String(v)) continue;
    errors[field] = ['Field is not configured to prompt on launch.'];
  }
  const extra = prompts.extra_data as Row | undefined;
  if (extra && Object.keys(extra).length) {
    const t = template.row;
    const takesVars = ['job_template', 'workflow_job_template'].includes(template.kind);
    const surveyVars = new Set(((t.survey_spec as { spec?: { variable?: string }[] } | undefined)?.spec ?? []).map((q) => q.variable));
    const refused = Object.keys(extra).filter((k) => !takesVars || !(t.ask_variables_on_launch || (t.survey_enabled && surveyVars.has(k))));
    if (refused.length) {
      errors.extra_data = [`Variables ${refused.join(', ')} are not allowed on launch. Check the Prompt on Launch setting on the Job Template to include Extra Variables.`];
    }
  }
  if (Object.keys(errors).length) throw badRequest(errors);
}

async function workflowTemplateOrg(db: Queryable, id: unknown): Promise<number | null> {
  if (id == null) return null;
  const { rows } = await db.query('SELECT organization_id FROM workflow_job_templates WHERE id = $1', [id]);
  return rows[0]?.organization_id ?? null;
}

export const workflowJobTemplateNodes = defineResource({
  key: 'workflow_job_template_nodes', type: 'workflow_job_template_node', table: 'workflow_job_template_nodes',
  fields: {
    ...base,
    workflow_job_template: fk('workflow_job_templates', { required: true }),
    unified_job_template: { type: 'int', col: 't."unified_job_template_id"', writable: true },
    identifier: text({ maxLength: 512 }),
    all_parents_must_converge: bool(),
    ...nodePromptFields,
    success_nodes: ro('json', { col: edgeIds('success', 'workflow_job_template_node_edges') }),
    failure_nodes: ro('json', { col: edgeIds('failure', 'workflow_job_template_node_edges') }),
    always_nodes: ro('json', { col: edgeIds('always', 'workflow_job_template_node_edges') }),
  },
  search: ['identifier'],
  defaultOrder: 'id',
  access: {
    roleType: 'workflow_job_template', idExpr: 't.workflow_job_template_id',
    orgExpr: '(SELECT w.organization_id FROM workflow_job_templates w WHERE w.id = t.workflow_job_template_id)',
    // AWX's can_add: admin of the workflow job template (its links are checked in prepare).
    canCreate: async (ctx, grants, data) =>
      grants.perms('workflow_job_template', Number(data.workflow_job_template), await workflowTemplateOrg(ctx.pool, data.workflow_job_template)).has('admin'),
  },
  related: (r) => {
    const u = `/api/v2/workflow_job_template_nodes/${r.id}/`;
    const out: Record<string, string> = Object.fromEntries(['success_nodes', 'failure_nodes', 'always_nodes', 'credentials']
      .map((k) => [k, `${u}${k}/`]));
    if (r.unified_job_template != null) out.unified_job_template = `/api/v2/unified_job_templates/${r.unified_job_template}/`;
    return out;
  },
  extraSummary: (ctx, rows) => summarizeNodeTemplates(ctx, rows),
  present: (_row, out) => {
    if (out.extra_data == null) out.extra_data = {};
  },
  prepare: async (ctx, _db, data, existing, caller) => prepareNode(ctx, data, existing, caller),
});

async function prepareNode(ctx: ApiContext, data: Row, existing: Row | undefined, caller: Caller): Promise<Row> {
  refuseGiven(data, NODE_REFUSED);
  if (existing && data.workflow_job_template !== undefined && Number(data.workflow_job_template) !== Number(existing.workflow_job_template)) {
    throw badRequest({ workflow_job_template: ['A node cannot move to another workflow job template.'] });
  }
  if (data.extra_data !== undefined) {
    if (data.extra_data === null || data.extra_data === '') data.extra_data = {};
    else {
      try {
        data.extra_data = parseVars(data.extra_data as string | Record<string, unknown>);
      } catch (err) {
        throw badRequest({ extra_data: [(err as Error).message] });
      }
    }
  }
  if (data.identifier !== undefined && (data.identifier === '' || data.identifier === null)) {
    throw badRequest({ identifier: ['This field may not be blank.'] });
  }
  const ujtId = data.unified_job_template !== undefined ? data.unified_job_template : existing?.unified_job_template;
  const template = ujtId == null ? null : await nodeTemplate(ctx.pool, Number(ujtId));
  if (ujtId != null && !template) throw badRequest({ unified_job_template: [`Invalid pk "${ujtId}" - object does not exist.`] });
  // The prompts as they will stand after this write, checked against the template as it will stand.
  const prompts: Row = {};
  for (const f of [...Object.keys(NODE_PROMPTS), 'extra_data']) prompts[f] = data[f] !== undefined ? data[f] : existing?.[f];
  checkNodePrompts(template, prompts);
  await requireLinks(ctx.pool, caller.grants, 'workflow_job_template_node', data, existing);
  // AWX's ujt_execute: changing a node's prompts needs the right to start its template, changed or not (an
  // approval node's template is the workflow's own: its admin, checked by the engine, is enough).
  if (existing && existing.unified_job_template != null && data.unified_job_template === undefined && Object.keys(data).length
    && template?.kind !== 'workflow_approval_template') {
    await requireLink(ctx.pool, caller.grants, 'workflow_job_template_node', 'unified_job_template', [Number(existing.unified_job_template)]);
  }
  if (data.extra_data !== undefined) data.extra_data = data.extra_data ?? {};
  return data;
}

/** summary_fields.unified_job_template of nodes (its kind is known only by looking), and of their jobs for job nodes. */
async function summarizeNodeTemplates(ctx: ApiContext, rows: Row[]): Promise<void> {
  const ids = [...new Set(rows.map((r) => r.unified_job_template).filter((x) => x != null))];
  if (!ids.length) return;
  const { rows: templates } = await ctx.pool.query(prepared(
    `SELECT id, name, description, 'job' AS unified_job_type FROM job_templates WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, name, description, 'workflow_job' FROM workflow_job_templates WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, name, description, 'project_update' FROM projects WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, name, description, 'inventory_update' FROM inventory_sources WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, name, description, 'system_job' FROM system_job_templates WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, name, description, 'workflow_approval' FROM workflow_approval_templates WHERE id = ANY($1::bigint[])`, [ids]));
  const byId = new Map(templates.map((t) => [Number(t.id), t]));
  for (const r of rows) {
    const t = byId.get(Number(r.unified_job_template));
    if (!t) continue;
    (r.summary_fields as Row).unified_job_template = t;
    // The template's own URL, as AWX links it (awx.awx reads an approval node's template there).
    (r.related as Record<string, string>).unified_job_template = `/api/v2/${TEMPLATE_PATH[t.unified_job_type as string]}/${t.id}/`;
  }
}

const TEMPLATE_PATH: Record<string, string> = { job: 'job_templates', workflow_job: 'workflow_job_templates', project_update: 'projects',
  inventory_update: 'inventory_sources', system_job: 'system_job_templates', workflow_approval: 'workflow_approval_templates' };

const workflowJobFields: Fields = {
  ...unifiedJobFields,
  workflow_job_template: ro('int', { col: '(CASE WHEN NOT t.is_sliced_job THEN t.unified_job_template_id END)', fk: 'workflow_job_templates' }),
  extra_vars: ro('text'), allow_simultaneous: ro('bool'), inventory: ro('int', { fk: 'inventories' }), limit: ro('text'),
  scm_branch: ro('text'), job_tags: ro('text'), skip_tags: ro('text'),
  job_template: ro('int', { col: '(CASE WHEN t.is_sliced_job THEN t.unified_job_template_id END)' }), is_sliced_job: ro('bool'),
  is_bulk_job: ro('bool'),
  webhook_service: ro('text'), webhook_credential: ro('int', { col: 'NULL::bigint' }), webhook_guid: ro('text'),
};

export const workflowJobs = defineResource({
  key: 'workflow_jobs', type: 'workflow_job', table: 'unified_jobs', where: `t.kind = 'workflow_job'`, fields: workflowJobFields,
  search: ['name', 'description'], defaultOrder: 'id', readOnly: true,
  access: { ...unifiedJobAccess, roleType: 'workflow_job_template' },
  accessSelect: unifiedJobSelect,
  related: (r) => {
    const u = `/api/v2/workflow_jobs/${r.id}/`;
    const out: Record<string, string> = Object.fromEntries(['workflow_nodes', 'cancel', 'relaunch', 'notifications', 'activity_stream']
      .map((k) => [k, `${u}${k}/`]));
    if (r.unified_job_template != null) {
      out.unified_job_template = `/api/v2/${r.is_sliced_job ? 'job_templates' : 'workflow_job_templates'}/${r.unified_job_template}/`;
    }
    return out;
  },
  present: (row, out) => {
    out.type = 'workflow_job';
    if (out.extra_vars === '') out.extra_vars = '{}';
    out.extra_vars = displayExtraVars(out.extra_vars, row._survey_passwords);
  },
  beforeDelete: async (_ctx, _db, row) => {
    if (['new', 'pending', 'waiting', 'running'].includes(row.status as string)) {
      throw new HttpError(403, { error: 'Cannot delete running job resource.' });
    }
  },
});

export const workflowJobNodes = defineResource({
  key: 'workflow_job_nodes', type: 'workflow_job_node', table: 'workflow_job_nodes',
  fields: {
    ...base,
    job: ro('int', { fk: 'unified_jobs' }),
    workflow_job: ro('int', { fk: 'workflow_jobs' }),
    unified_job_template: ro('int', { col: 't.unified_job_template_id' }),
    success_nodes: ro('json', { col: edgeIds('success', 'workflow_job_node_edges') }),
    failure_nodes: ro('json', { col: edgeIds('failure', 'workflow_job_node_edges') }),
    always_nodes: ro('json', { col: edgeIds('always', 'workflow_job_node_edges') }),
    all_parents_must_converge: ro('bool'), do_not_run: ro('bool'), identifier: ro('text'),
    inventory: ro('int', { fk: 'inventories' }), limit: ro('text'), job_tags: ro('text'), skip_tags: ro('text'), scm_branch: ro('text'),
    job_type: ro('text'), verbosity: ro('int'), diff_mode: ro('bool'), extra_data: ro('json'),
  },
  search: ['identifier'], defaultOrder: 'id', readOnly: true, noDelete: true,
  access: {
    roleType: 'workflow_job_template', idExpr: '(SELECT w.unified_job_template_id FROM unified_jobs w WHERE w.id = t.workflow_job_id)',
    orgExpr: '(SELECT w.organization_id FROM unified_jobs w WHERE w.id = t.workflow_job_id)',
    readSql: (g, p) => `t.workflow_job_id IN (SELECT t.id FROM unified_jobs t WHERE t.kind = 'workflow_job' AND ${unifiedJobAccess.readSql(g, p)})`,
  },
  related: (r) => {
    const u = `/api/v2/workflow_job_nodes/${r.id}/`;
    const out: Record<string, string> = Object.fromEntries(['success_nodes', 'failure_nodes', 'always_nodes', 'credentials']
      .map((k) => [k, `${u}${k}/`]));
    if (r.unified_job_template != null) out.unified_job_template = `/api/v2/unified_job_templates/${r.unified_job_template}/`;
    return out;
  },
  extraSummary: async (ctx, rows) => {
    await summarizeNodeTemplates(ctx, rows);
    const jobIds = rows.map((r) => r.job).filter((x) => x != null);
    if (!jobIds.length) return;
    const { rows: jobs } = await ctx.pool.query(
      `SELECT id, name, description, status, failed, elapsed, kind AS type FROM unified_jobs WHERE id = ANY($1::bigint[])`, [jobIds]);
    const byId = new Map(jobs.map((j) => [Number(j.id), j]));
    for (const r of rows) {
      const job = r.job == null ? undefined : byId.get(Number(r.job));
      if (!job) continue;
      (r.summary_fields as Row).job = job;
      // The job's own URL (/workflow_approvals/N/ for an approval: awx.awx posts `approve` under it).
      (r.related as Record<string, string>).job = `/api/v2/${job.type}s/${job.id}/`;
    }
  },
  present: (_row, out) => {
    if (out.extra_data == null) out.extra_data = {};
  },
});
