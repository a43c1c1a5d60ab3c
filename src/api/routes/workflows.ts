import { withTransaction } from '../../db/pool.js';
import { PlaystreamError } from '../../errors.js';
import { wakeTaskManager } from '../../scheduler/job-states.js';
import { cancelUnifiedJob } from '../../scheduler/submit.js';
import { WorkflowGraph, type EdgeKind } from '../../scheduler/workflow/graph.js';
import { launchWorkflowJobTemplate, type WorkflowOverrides } from '../../scheduler/workflow/launch-workflow.js';
import { requireLink, requireLinks } from '../access.js';
import { recordActivity } from '../../db/activity.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { getObject, loadRow, requireObjectPerm, resolveId } from '../engine/crud.js';
import type { Caller, Queryable, Row } from '../engine/resource.js';
import { registerResource, registerSubList, type Association } from '../engine/routes.js';
import { attachments, registerRoleLists } from './resources.js';
import { badRequest, HttpError, jsonBody, type Router } from '../http.js';
import { labels, notifications, notificationTemplates, schedules } from '../resources/cluster.js';
import { applySurvey, variablesNeeded } from '../survey.js';
import { registerSurveySpec } from './survey-spec.js';
import { credentials } from '../resources/credentials.js';
import { organizations } from '../resources/organizations.js';
import {
  checkNodePrompts, nodeTemplate, workflowJobNodes, workflowJobs, workflowJobTemplateNodes, workflowJobTemplates,
} from '../resources/workflows.js';
import { workflowApprovals, workflowApprovalTemplates } from '../resources/workflow-approvals.js';
import { decideApproval } from '../../scheduler/workflow/approvals.js';

/**
 * Workflow routes: the four resources, the graph's edges as AWX's success_nodes /
 * failure_nodes / always_nodes sub-lists (POST `{id}` links, `{id, disassociate: true}`
 * unlinks, a body without `id` creates a node and links it), launch, cancel and relaunch.
 */
const EDGE_KINDS: EdgeKind[] = ['success', 'failure', 'always'];

/** AWX's is_valid_relation: no self link, one edge kind per pair, no cycle; nodes of one template only. */
function edgeAssociation(kind: EdgeKind): Association {
  return {
    table: 'workflow_job_template_node_edges', parentCol: 'from_id', childCol: 'to_id', extra: { kind },
    link: async (db, parentId, childId) => {
      const { rows: pair } = await db.query<{ id: number; workflow_job_template_id: number }>(
        'SELECT id, workflow_job_template_id FROM workflow_job_template_nodes WHERE id = ANY($1::bigint[])', [[parentId, childId]]);
      const wfjt = pair[0]?.workflow_job_template_id;
      if (pair.length === 2 && pair[0].workflow_job_template_id !== pair[1].workflow_job_template_id) {
        throw new HttpError(403, { detail: 'Nodes of different workflow job templates cannot be linked.' });
      }
      if (parentId === childId) throw badRequest({ Error: 'Cycle detected.' });
      // One writer of a template's graph at a time: two links that each keep it acyclic may not make a cycle together.
      await db.query('SELECT id FROM workflow_job_templates WHERE id = $1 FOR UPDATE', [wfjt]);
      const { rows: edges } = await db.query<{ from_id: number; kind: EdgeKind; to_id: number }>(
        `SELECT e.from_id, e.kind, e.to_id FROM workflow_job_template_node_edges e
           JOIN workflow_job_template_nodes n ON n.id = e.from_id WHERE n.workflow_job_template_id = $1`, [wfjt]);
      if (edges.some((e) => Number(e.from_id) === parentId && Number(e.to_id) === childId && e.kind !== kind)) {
        throw badRequest({ Error: 'Relationship not allowed.' });
      }
      const { rows: nodes } = await db.query<{ id: number }>('SELECT id FROM workflow_job_template_nodes WHERE workflow_job_template_id = $1', [wfjt]);
      const graph = new WorkflowGraph(
        nodes.map((n) => ({ id: Number(n.id), hasTemplate: true, allParentsMustConverge: false, doNotRun: false, job: null })),
        [...edges.map((e) => ({ from: Number(e.from_id), to: Number(e.to_id), kind: e.kind })), { from: parentId, to: childId, kind }]);
      if (graph.hasCycle()) throw badRequest({ Error: 'Cycle detected.' });
      await db.query('INSERT INTO workflow_job_template_node_edges (from_id, kind, to_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [parentId, kind, childId]);
    },
  };
}

/** A node's credentials are a prompt: its template must ask for credentials, and the caller must be able to use each. */
const nodeCredentials: Association = {
  table: 'workflow_job_template_node_credentials', parentCol: 'node_id', childCol: 'credential_id',
  link: async (db, nodeId, credentialId, caller) => {
    const { rows: [node] } = await db.query('SELECT unified_job_template_id FROM workflow_job_template_nodes WHERE id = $1', [nodeId]);
    const template = node?.unified_job_template_id == null ? null : await nodeTemplate(db, Number(node.unified_job_template_id));
    if (template && !(template.kind === 'job_template' && template.row.ask_credential_on_launch)) {
      throw badRequest({ credentials: ['Field is not configured to prompt on launch.'] });
    }
    await requireLink(db, caller.grants, 'workflow_job_template_node', 'credentials', [credentialId]);
    await db.query('INSERT INTO workflow_job_template_node_credentials (node_id, credential_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [nodeId, credentialId]);
  },
};

/** Launch prompts of a workflow job template: field → its ask flag and the override it becomes. */
const LAUNCH_PROMPTS: Record<string, { ask: string; to: keyof WorkflowOverrides }> = {
  inventory: { ask: 'ask_inventory_on_launch', to: 'inventory_id' },
  limit: { ask: 'ask_limit_on_launch', to: 'limit' },
  scm_branch: { ask: 'ask_scm_branch_on_launch', to: 'scm_branch' },
  job_tags: { ask: 'ask_tags_on_launch', to: 'job_tags' },
  skip_tags: { ask: 'ask_skip_tags_on_launch', to: 'skip_tags' },
};

async function templateRow(ctx: ApiContext, id: number): Promise<Row> {
  const { rows } = await ctx.pool.query('SELECT * FROM workflow_job_templates WHERE id = $1', [id]);
  return rows[0];
}

/** AWX's node_templates_missing and node_prompts_rejected of a template. */
async function nodeProblems(ctx: ApiContext, id: number): Promise<{ missing: number[]; rejected: number[] }> {
  const { rows } = await ctx.pool.query(
    `SELECT n.*, n.inventory_id AS inventory FROM workflow_job_template_nodes n WHERE n.workflow_job_template_id = $1 ORDER BY n.id`, [id]);
  const missing: number[] = [];
  const rejected: number[] = [];
  for (const n of rows) {
    if (n.unified_job_template_id == null) { missing.push(Number(n.id)); continue; }
    try {
      checkNodePrompts(await nodeTemplate(ctx.pool, Number(n.unified_job_template_id)), n);
    } catch {
      rejected.push(Number(n.id));
    }
  }
  return { missing, rejected };
}

async function launch(ctx: ApiContext, caller: Caller, id: number, body: Row, launchType: 'manual' | 'relaunch'): Promise<Row> {
  const t = await templateRow(ctx, id);
  const overrides: WorkflowOverrides = {};
  const ignored: Row = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === 'extra_vars') continue;
    const p = LAUNCH_PROMPTS[k];
    if (!p || !t[p.ask]) { ignored[k] = v; continue; }
    if (k === 'inventory') {
      const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
      if (v !== null && (typeof n !== 'number' || !Number.isSafeInteger(n))) throw badRequest({ inventory: ['A valid integer is required.'] });
      overrides.inventory_id = n as number | null;
    } else {
      if (typeof v !== 'string') throw badRequest({ [k]: ['Not a valid string.'] });
      (overrides as Row)[p.to] = v;
    }
  }
  // Extra vars and survey answers as for a job template (survey.ts): answers checked against their questions, defaults filled in.
  const given = body.extra_vars === null || body.extra_vars === '' ? undefined : body.extra_vars;
  if (given !== undefined || t.survey_enabled) {
    let survey;
    try {
      survey = applySurvey(t as { survey_enabled: boolean; survey_spec: unknown; ask_variables_on_launch: boolean }, given);
    } catch (err) {
      throw badRequest({ extra_vars: [(err as Error).message] });
    }
    if (survey.errors.length) throw badRequest({ variables_needed_to_start: survey.errors });
    if (Object.keys(survey.ignored).length) ignored.extra_vars = survey.ignored;
    if (Object.keys(survey.accepted).length) overrides.extra_vars = survey.accepted;
  }
  if (overrides.inventory_id != null) {
    const { rowCount } = await ctx.pool.query('SELECT 1 FROM inventories WHERE id = $1', [overrides.inventory_id]);
    if (!rowCount) throw badRequest({ inventory: [`Invalid pk "${overrides.inventory_id}" - object does not exist.`] });
  }
  await requireLinks(ctx.pool, caller.grants, 'launch', { inventory: overrides.inventory_id ?? undefined }, { inventory: t.inventory_id }, { prompts: true });
  const jobId = await launchWorkflowJobTemplate(ctx.pool, id, { userId: caller.user.id, launchType, workflowOverrides: overrides })
    .catch((err) => { if (err instanceof PlaystreamError) throw badRequest({ detail: err.message }); throw err; });
  await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: 'workflow_job', object1Id: jobId,
    object2: 'workflow_job_template', object2Id: id, changes: { launched: true } });
  return { workflow_job: jobId, ignored_fields: ignored, ...(await getObject(ctx, workflowJobs, caller, jobId)) };
}

export function registerWorkflows(router: Router<ApiContext>): void {
  registerSubList(router, workflowJobTemplates, 'workflow_nodes', workflowJobTemplateNodes, {
    condition: (p) => `t.workflow_job_template_id = ${p}`, createWith: (w) => ({ workflow_job_template: w.id }) });
  registerSubList(router, workflowJobTemplates, 'workflow_jobs', workflowJobs, { condition: (p) => `t.unified_job_template_id = ${p}` });
  registerSubList(router, organizations, 'workflow_job_templates', workflowJobTemplates, { condition: (p) => `t.organization_id = ${p}`,
    createWith: (o) => ({ organization: o.id }) });
  registerSubList(router, workflowJobTemplates, 'schedules', schedules, { condition: (p) => `t.unified_job_template_id = ${p}`,
    createWith: (w) => ({ unified_job_template: w.id }) });
  registerRoleLists(router, workflowJobTemplates);
  for (const kind of EDGE_KINDS) {
    registerSubList(router, workflowJobTemplateNodes, `${kind}_nodes`, workflowJobTemplateNodes, {
      condition: (p) => `t.id IN (SELECT to_id FROM workflow_job_template_node_edges WHERE from_id = ${p} AND kind = '${kind}')`,
      associate: edgeAssociation(kind),
      createWith: (parent) => ({ workflow_job_template: parent.workflow_job_template }),
      afterCreate: async (_ctx, db: Queryable, parentId, child) => {
        await db.query('INSERT INTO workflow_job_template_node_edges (from_id, kind, to_id) VALUES ($1, $2, $3)', [parentId, kind, child.id]);
      },
    });
    registerSubList(router, workflowJobNodes, `${kind}_nodes`, workflowJobNodes, {
      condition: (p) => `t.id IN (SELECT to_id FROM workflow_job_node_edges WHERE from_id = ${p} AND kind = '${kind}')` });
  }
  registerSubList(router, workflowJobTemplateNodes, 'credentials', credentials, {
    condition: (p) => `t.id IN (SELECT credential_id FROM workflow_job_template_node_credentials WHERE node_id = ${p})`,
    associate: nodeCredentials });
  registerSubList(router, workflowJobNodes, 'credentials', credentials, {
    condition: (p) => `t.id IN (SELECT credential_id FROM workflow_job_node_credentials WHERE node_id = ${p})` });
  registerSubList(router, workflowJobs, 'workflow_nodes', workflowJobNodes, { condition: (p) => `t.workflow_job_id = ${p}` });
  // AWX's notification_templates_{started,success,error,approvals} of a workflow job template, and a workflow job's notifications.
  for (const event of ['started', 'success', 'error', 'approvals']) {
    registerSubList(router, workflowJobTemplates, `notification_templates_${event}`, notificationTemplates, {
      condition: (p) => `t.id IN (SELECT notification_template_id FROM notification_template_attachments
                                   WHERE resource_type = 'workflow_job_template' AND on_event = '${event}' AND resource_id = ${p})`,
      associate: attachments('workflow_job_template', event) });
  }
  registerSubList(router, workflowJobs, 'notifications', notifications, { condition: (p) => `t.unified_job_id = ${p}` });

  router.get('/api/v2/workflow_job_templates/:id/launch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, workflowJobTemplates, req.params.id);
    const w = await getObject(ctx, workflowJobTemplates, caller, id);
    const problems = await nodeProblems(ctx, id);
    const asks = Object.fromEntries(['ask_variables_on_launch', ...Object.values(LAUNCH_PROMPTS).map((p) => p.ask), 'ask_labels_on_launch']
      .map((k) => [k, w[k]]));
    const t = await templateRow(ctx, id);
    return { status: 200, body: {
      ...asks, can_start_without_user_input: !Object.values(asks).some(Boolean) && !t.survey_enabled,
      variables_needed_to_start: variablesNeeded(Boolean(t.survey_enabled), t.survey_spec), survey_enabled: t.survey_enabled,
      node_templates_missing: problems.missing, node_prompts_rejected: problems.rejected,
      workflow_job_template_data: { name: w.name, id: w.id, description: w.description },
      defaults: { extra_vars: w.extra_vars, inventory: (w.summary_fields as Row).inventory ?? { id: null, name: null }, limit: w.limit,
        scm_branch: w.scm_branch, job_tags: w.job_tags, skip_tags: w.skip_tags, labels: [] },
    } };
  });
  router.post('/api/v2/workflow_job_templates/:id/launch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, workflowJobTemplates, req.params.id);
    await requireObjectPerm(ctx, workflowJobTemplates, caller, id, 'execute');
    const body = jsonBody<Row>(req) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
    return { status: 201, body: await launch(ctx, caller, id, body, 'manual') };
  });

  router.get('/api/v2/workflow_jobs/:id/cancel/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const row = await loadRow(ctx, workflowJobs, caller, await resolveId(ctx, workflowJobs, req.params.id));
    return { status: 200, body: { can_cancel: ['new', 'pending', 'waiting', 'running'].includes(row.status as string) } };
  });
  router.post('/api/v2/workflow_jobs/:id/cancel/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, workflowJobs, req.params.id);
    const row = await loadRow(ctx, workflowJobs, caller, id);
    // AWX's WorkflowJobAccess.can_cancel: who launched it, or an admin of its template.
    if (!caller.grants.superuser && row.created_by !== caller.user.id
      && !caller.grants.perms('workflow_job_template', row.unified_job_template as number, row.organization as number).has('admin')) {
      throw new HttpError(403, { detail: 'You do not have permission to perform this action.' });
    }
    if (!(await cancelUnifiedJob(ctx.pool, id, { redis: ctx.redis, config: ctx.config }))) throw new HttpError(405, { error: 'Job cannot be canceled.' });
    // A running workflow's children are canceled by the workflow pass.
    await wakeTaskManager(ctx.pool);
    return { status: 202 };
  });

  router.get('/api/v2/workflow_jobs/:id/relaunch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    await loadRow(ctx, workflowJobs, caller, await resolveId(ctx, workflowJobs, req.params.id));
    return { status: 200, body: {} };
  });
  router.post('/api/v2/workflow_jobs/:id/relaunch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const old = await loadRow(ctx, workflowJobs, caller, await resolveId(ctx, workflowJobs, req.params.id));
    const templateId = old.unified_job_template as number | null;
    if (templateId == null) throw badRequest({ detail: 'Workflow job template for this workflow job no longer exists.' });
    await requireObjectPerm(ctx, workflowJobTemplates, caller, templateId, 'execute');
    // The prompts the old job was launched with, given again (AWX copies its launch config).
    const { rows: [prior] } = await ctx.pool.query('SELECT launch_prompts FROM unified_jobs WHERE id = $1', [old.id]);
    const p = (prior?.launch_prompts ?? {}) as WorkflowOverrides;
    const body: Row = {};
    if (p.inventory_id !== undefined) body.inventory = p.inventory_id;
    for (const k of ['limit', 'scm_branch', 'job_tags', 'skip_tags'] as const) if (p[k] !== undefined) body[k] = p[k];
    if (p.extra_vars) body.extra_vars = p.extra_vars;
    return { status: 201, body: await launch(ctx, caller, templateId, body, 'relaunch') };
  });

  // Survey questions of type password would be sealed in the workflow job and opened by each node's job: not implemented.
  registerSurveySpec(router, workflowJobTemplates, { refuseTypes: { password: 'not implemented by Playstream for workflow job templates.' } });
  registerSubList(router, workflowJobTemplates, 'labels', labels, {
    condition: (p) => `t.id IN (SELECT label_id FROM workflow_job_template_labels WHERE workflow_job_template_id = ${p})`,
    associate: { table: 'workflow_job_template_labels', parentCol: 'workflow_job_template_id', childCol: 'label_id' } });
  registerApprovals(router);
  registerSubList(router, workflowApprovalTemplates, 'jobs', workflowApprovals, { condition: (p) => `t.unified_job_template_id = ${p}` });
  for (const def of [workflowJobTemplates, workflowJobTemplateNodes, workflowJobs, workflowJobNodes, workflowApprovalTemplates, workflowApprovals]) {
    registerResource(router, def);
  }
}

/** Approval nodes: a node's approval template, and approve/deny with the approval role (AWX's WorkflowApprovalAccess). */
function registerApprovals(router: Router<ApiContext>): void {
  router.post('/api/v2/workflow_job_template_nodes/:id/create_approval_template/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const nodeId = await resolveId(ctx, workflowJobTemplateNodes, req.params.id);
    const node = await loadRow(ctx, workflowJobTemplateNodes, caller, nodeId);
    // AWX: change of the node's workflow job template.
    await requireObjectPerm(ctx, workflowJobTemplates, caller, node.workflow_job_template as number, 'admin');
    const body = jsonBody<Row>(req) ?? {};
    const errors: Record<string, string[]> = {};
    if (typeof body.name !== 'string' || !body.name.trim()) errors.name = ['This field is required.'];
    else if (body.name.length > 512) errors.name = ['Ensure this field has no more than 512 characters.'];
    if (body.description !== undefined && body.description !== null && typeof body.description !== 'string') errors.description = ['Not a valid string.'];
    const timeout = body.timeout ?? 0;
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0) errors.timeout = ['A valid integer is required.'];
    if (Object.keys(errors).length) throw badRequest(errors);
    const id = await withTransaction(ctx.pool, async (db) => {
      const { rows: [t] } = await db.query<{ id: number }>(
        'INSERT INTO workflow_approval_templates (name, description, timeout) VALUES ($1, $2, $3) RETURNING id',
        [body.name, body.description ?? '', timeout]);
      await db.query('UPDATE workflow_job_template_nodes SET unified_job_template_id = $2, modified = now() WHERE id = $1', [nodeId, t.id]);
      await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: 'workflow_approval_template',
        object1Id: t.id, changes: { name: body.name, timeout } });
      return t.id;
    });
    return { status: 201, body: await getObject(ctx, workflowApprovalTemplates, caller, id) };
  });

  for (const action of ['approve', 'deny'] as const) {
    router.get(`/api/v2/workflow_approvals/:id/${action}/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      await loadRow(ctx, workflowApprovals, caller, await resolveId(ctx, workflowApprovals, req.params.id));
      return { status: 200, body: {} };
    });
    router.post(`/api/v2/workflow_approvals/:id/${action}/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const id = await resolveId(ctx, workflowApprovals, req.params.id);
      const row = await requireObjectPerm(ctx, workflowApprovals, caller, id, 'approve');
      const already = () => badRequest({ error: 'This workflow step has already been approved or denied.' });
      if (row.status !== 'pending') throw already();
      if (!(await decideApproval(ctx.pool, { redis: ctx.redis, config: ctx.config }, id, caller.user.id, action === 'approve'))) throw already();
      return { status: 204 };
    });
  }
}
