import type pg from 'pg';
import { PlaystreamError } from '../../errors.js';
import { launchInventoryUpdate, launchJobTemplate, launchProjectUpdate, launchSystemJob, type JobOverrides } from '../launch.js';
import { submitUnifiedJob } from '../submit.js';
import { parseVars } from '../vars.js';
import { decideWorkflow, recursionExplanation, type EdgeKind, type GraphNode } from './graph.js';
import { launchWorkflowJobTemplate, type WorkflowOverrides } from './launch-workflow.js';

/**
 * The workflow pass (AWX's WorkflowManager), run by the task manager inside its pass's
 * transaction and advisory lock, before it places pending jobs, so the jobs it spawns are
 * placed in the same pass. It is not a loop of its own: the task manager runs when woken,
 * and a job of a workflow node wakes it when its final status is saved (job-states.ts), as
 * AWX's "handle work" wake-up does.
 *
 * 0. Approvals pending past their timeout expire (failed, timed_out), as AWX's task manager
 *    expires them; the 5 s poll is what notices the time passing.
 * 1. Pending workflow jobs become running (no instance, no capacity: AWX's task impact 0),
 *    one at a time per template unless allow_simultaneous.
 * 2. Each running workflow job's nodes are read in bulk (three queries for all of them) and
 *    decided by graph.ts: do_not_run marks are written, the nodes to start get their jobs
 *    (the node's prompts over the template's, as accepted by the template's ask_* flags,
 *    launch_type 'workflow'), and finished or canceled workflows are reported.
 *
 * What must go through the job state machine (final statuses, cancels) is returned for the
 * task manager to apply after commit, where saveFinalStatus runs the notification
 * rendezvous and publishes the change.
 */
export interface WorkflowPassResult {
  /** Workflow jobs moved pending → running in this pass. */
  started: { id: number; kind: string; status: string; unified_job_template_id: number | null; finished: null }[];
  /** Workflow jobs to finish. */
  finished: { id: number; status: 'successful' | 'failed' | 'canceled'; explanation: string }[];
  /** Jobs of canceled workflows to cancel. */
  cancel: number[];
  /** Node jobs that could not start (a missing resource, recursion): created `new`, to be failed with this explanation. */
  refused: { id: number; explanation: string }[];
  /** Approvals past their timeout, to be failed with timed_out. */
  expired: { id: number; explanation: string }[];
  spawned: number;
}

export const MISSING_RESOURCE_EXPLANATION =
  'Job spawned from workflow could not start because it was missing a related resource such as project or inventory';

interface WorkflowJobRow {
  id: number; name: string; unified_job_template_id: number | null; cancel_flag: boolean; created_by_id: number | null;
  inventory_id: number | null; limit: string; scm_branch: string; job_tags: string; skip_tags: string; extra_vars: string;
}
interface NodeRow {
  id: number; workflow_job_id: number; unified_job_template_id: number | null; do_not_run: boolean; all_parents_must_converge: boolean;
  job_id: number | null; job_status: string | null; job_cancel_flag: boolean | null;
}

export async function advanceWorkflows(db: pg.PoolClient): Promise<WorkflowPassResult> {
  const result: WorkflowPassResult = { started: [], finished: [], cancel: [], refused: [], expired: [], spawned: 0 };
  result.expired = await expiredApprovals(db);
  result.started = await startPendingWorkflows(db);
  const { rows: workflows } = await db.query<WorkflowJobRow>(
    `SELECT id, name, unified_job_template_id, cancel_flag, created_by_id, inventory_id, "limit", scm_branch, job_tags, skip_tags, extra_vars
       FROM unified_jobs WHERE kind = 'workflow_job' AND status = 'running' ORDER BY id`);
  if (!workflows.length) return result;
  const ids = workflows.map((w) => w.id);
  const { rows: nodes } = await db.query<NodeRow>(
    `SELECT n.id, n.workflow_job_id, n.unified_job_template_id, n.do_not_run, n.all_parents_must_converge, n.job_id,
            j.status AS job_status, j.cancel_flag AS job_cancel_flag
       FROM workflow_job_nodes n LEFT JOIN unified_jobs j ON j.id = n.job_id
      WHERE n.workflow_job_id = ANY($1::bigint[]) ORDER BY n.id`, [ids]);
  const { rows: edges } = await db.query<{ wj: number; from_id: number; kind: EdgeKind; to_id: number }>(
    `SELECT n.workflow_job_id AS wj, e.from_id, e.kind, e.to_id FROM workflow_job_node_edges e
       JOIN workflow_job_nodes n ON n.id = e.from_id WHERE n.workflow_job_id = ANY($1::bigint[])`, [ids]);
  const nodesOf = groupBy(nodes, (n) => n.workflow_job_id);
  const edgesOf = groupBy(edges, (e) => e.wj);

  const doNotRun: number[] = [];
  for (const wj of workflows) {
    const own = nodesOf.get(wj.id) ?? [];
    const graphNodes: GraphNode[] = own.map((n) => ({
      id: Number(n.id), hasTemplate: n.unified_job_template_id !== null, allParentsMustConverge: n.all_parents_must_converge,
      doNotRun: n.do_not_run, job: n.job_id === null ? null : { id: Number(n.job_id), status: n.job_status! },
    }));
    const graphEdges = (edgesOf.get(wj.id) ?? []).map((e) => ({ from: Number(e.from_id), to: Number(e.to_id), kind: e.kind }));
    const d = decideWorkflow(graphNodes, graphEdges, { cancelRequested: wj.cancel_flag });
    doNotRun.push(...d.doNotRun);
    if (d.cancelJobs.length) {
      // Only jobs not yet asked: a pass woken while they stop must not ask again.
      const flagged = new Set(own.filter((n) => n.job_cancel_flag).map((n) => Number(n.job_id)));
      result.cancel.push(...d.cancelJobs.filter((j) => !flagged.has(j)));
    }
    if (d.finished) {
      result.finished.push({ id: wj.id, ...d.finished });
      continue;
    }
    for (const nodeId of d.start) {
      const spawned = await spawnNodeJob(db, wj, nodeId);
      result.spawned++;
      if (spawned.refused) result.refused.push({ id: spawned.jobId, explanation: spawned.refused });
    }
  }
  if (doNotRun.length) {
    await db.query('UPDATE workflow_job_nodes SET do_not_run = true, modified = now() WHERE id = ANY($1::bigint[])', [doNotRun]);
  }
  return result;
}

async function expiredApprovals(db: pg.PoolClient): Promise<WorkflowPassResult['expired']> {
  const { rows } = await db.query<{ id: number; name: string; timeout: number }>(
    `SELECT id, name, timeout FROM unified_jobs WHERE kind = 'workflow_approval' AND status = 'pending' AND timeout > 0
        AND created + make_interval(secs => timeout) < now() ORDER BY id`);
  return rows.map((r) => ({ id: r.id, explanation: `The approval node ${r.name} (${r.id}) has expired after ${r.timeout} seconds.` }));
}

async function startPendingWorkflows(db: pg.PoolClient): Promise<WorkflowPassResult['started']> {
  const { rows: pending } = await db.query<{ id: number; unified_job_template_id: number | null; allow_simultaneous: boolean; job_explanation: string }>(
    `SELECT id, unified_job_template_id, allow_simultaneous, job_explanation FROM unified_jobs
      WHERE kind = 'workflow_job' AND status = 'pending' ORDER BY id`);
  if (!pending.length) return [];
  const { rows: active } = await db.query<{ unified_job_template_id: number }>(
    `SELECT DISTINCT unified_job_template_id FROM unified_jobs WHERE kind = 'workflow_job' AND status IN ('waiting', 'running')
        AND unified_job_template_id IS NOT NULL`);
  const busy = new Set(active.map((a) => Number(a.unified_job_template_id)));
  const start: number[] = [];
  const held: { id: number; text: string }[] = [];
  for (const wj of pending) {
    const t = wj.unified_job_template_id === null ? null : Number(wj.unified_job_template_id);
    if (t !== null && !wj.allow_simultaneous && busy.has(t)) {
      const text = `waiting for another job of workflow job template ${t} to finish`;
      if (wj.job_explanation !== text) held.push({ id: wj.id, text });
      continue;
    }
    if (t !== null) busy.add(t);
    start.push(wj.id);
  }
  if (held.length) {
    await db.query(`UPDATE unified_jobs u SET job_explanation = v.text FROM unnest($1::bigint[], $2::text[]) AS v(id, text)
                     WHERE u.id = v.id AND u.status = 'pending'`, [held.map((h) => h.id), held.map((h) => h.text)]);
  }
  if (!start.length) return [];
  const { rows } = await db.query<{ id: number; kind: string; status: string; unified_job_template_id: number | null }>(
    `UPDATE unified_jobs SET status = 'running', started = now(), modified = now(), job_explanation = ''
      WHERE id = ANY($1::bigint[]) AND status = 'pending' RETURNING id, kind, status, unified_job_template_id`, [start]);
  return rows.map((r) => ({ ...r, finished: null }));
}

interface SpawnNode {
  id: number; unified_job_template_id: number; inventory_id: number | null; limit: string | null; job_tags: string | null;
  skip_tags: string | null; scm_branch: string | null; job_type: 'run' | 'check' | null; verbosity: number | null;
  diff_mode: boolean | null; extra_data: Record<string, unknown>; credentials: number[]; ancestor_artifacts: Record<string, unknown>;
}

/** The template a node names, whatever its kind (one id sequence). */
async function templateKind(db: pg.PoolClient, id: number): Promise<{ kind: string; row: Record<string, any> } | null> {
  for (const [kind, table] of [['job_template', 'job_templates'], ['workflow_job_template', 'workflow_job_templates'],
    ['project', 'projects'], ['inventory_source', 'inventory_sources'], ['system_job_template', 'system_job_templates'],
    ['workflow_approval_template', 'workflow_approval_templates']]) {
    const { rows } = await db.query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
    if (rows[0]) return { kind, row: rows[0] };
  }
  return null;
}

const JOB_KIND_OF: Record<string, string> = { job_template: 'job', workflow_job_template: 'workflow_job', project: 'project_update',
  inventory_source: 'inventory_update', system_job_template: 'system_job', workflow_approval_template: 'workflow_approval' };

/**
 * Creates one node's job. As AWX (WorkflowJobNode.get_job_kwargs): the workflow job's own
 * prompts (inventory, limit, scm_branch, tags) override the node's, and either reaches the
 * job only where its template asks for the field; the workflow's extra vars reach every
 * job template's job whatever it asks, above the artifacts of the nodes before it, which
 * are above the node's accepted extra data.
 */
async function spawnNodeJob(db: pg.PoolClient, wj: WorkflowJobRow, nodeId: number): Promise<{ jobId: number; refused?: string }> {
  const { rows: [node] } = await db.query<SpawnNode>(
    `SELECT n.*, ARRAY(SELECT credential_id FROM workflow_job_node_credentials c WHERE c.node_id = n.id ORDER BY credential_id) AS credentials
       FROM workflow_job_nodes n WHERE n.id = $1`, [nodeId]);
  const template = await templateKind(db, Number(node.unified_job_template_id));
  const artifacts = await ancestorArtifacts(db, nodeId);
  const opts = { launchType: 'workflow' as const, userId: wj.created_by_id };
  let refused: string | undefined;
  let jobId: number | null = null;
  if (!template) {
    refused = MISSING_RESOURCE_EXPLANATION;
  } else {
    await db.query('SAVEPOINT workflow_spawn');
    try {
      if (template.kind === 'workflow_job_template') {
        refused = await recursionRefusal(db, wj, template.row) ?? undefined;
        if (!refused) {
          jobId = await launchWorkflowJobTemplate(db, template.row.id, { ...opts,
            workflowOverrides: workflowPrompts(template.row, node, wj, artifacts) });
        }
      } else if (template.kind === 'job_template') {
        jobId = await launchJobTemplate(db, template.row.id, { ...opts, overrides: await jobPrompts(db, template.row, node, wj, artifacts) });
      } else if (template.kind === 'project') {
        jobId = await launchProjectUpdate(db, template.row.id, opts);
      } else if (template.kind === 'inventory_source') {
        jobId = await launchInventoryUpdate(db, template.row.id, opts);
      } else if (template.kind === 'workflow_approval_template') {
        // Waits in pending for approve/deny or its timeout; AWX counts it started when created.
        jobId = await submitUnifiedJob(db, { kind: 'workflow_approval', name: template.row.name, description: template.row.description,
          unified_job_template_id: template.row.id, launch_type: 'workflow', created_by_id: wj.created_by_id, timeout: template.row.timeout,
          started: new Date(), stream_complete: true, dependencies_processed: true });
      } else {
        jobId = await launchSystemJob(db, template.row.id, opts);
      }
      await db.query('RELEASE SAVEPOINT workflow_spawn');
    } catch (err) {
      await db.query('ROLLBACK TO SAVEPOINT workflow_spawn');
      if (!(err instanceof PlaystreamError)) throw err;
      refused = MISSING_RESOURCE_EXPLANATION;
      jobId = null;
    }
  }
  if (jobId === null) {
    // The node still gets a job, failed with the reason, as AWX records it (after commit, through the state machine).
    const { rows: [row] } = await db.query<{ id: number }>(
      `INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, launch_type, created_by_id, status, dependencies_processed)
       VALUES ($1, $2, $3, $4, 'workflow', $5, 'new', true) RETURNING id`,
      [JOB_KIND_OF[template?.kind ?? 'job_template'], template?.row.name ?? '', node.unified_job_template_id,
        template?.row.organization_id ?? null, wj.created_by_id]);
    jobId = row.id;
  }
  await db.query('UPDATE workflow_job_nodes SET job_id = $2, ancestor_artifacts = $3, modified = now() WHERE id = $1',
    [nodeId, jobId, JSON.stringify(artifacts)]);
  return { jobId, refused };
}

/** Artifacts of the nodes before this one: their own ancestors' and their jobs' (set_stats), nearer ones last. */
async function ancestorArtifacts(db: pg.PoolClient, nodeId: number): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ ancestor_artifacts: Record<string, unknown>; artifacts: Record<string, unknown> | null }>(
    `SELECT p.ancestor_artifacts, j.artifacts FROM workflow_job_nodes p LEFT JOIN unified_jobs j ON j.id = p.job_id
      WHERE p.id IN (SELECT from_id FROM workflow_job_node_edges WHERE to_id = $1) ORDER BY p.id`, [nodeId]);
  const out: Record<string, unknown> = {};
  for (const r of rows) Object.assign(out, r.ancestor_artifacts, r.artifacts ?? {});
  return out;
}

/** AWX's get_ancestor_workflows: the templates of the workflows above `wj`, nearest first, including its own. */
async function recursionRefusal(db: pg.PoolClient, wj: WorkflowJobRow, template: Record<string, any>): Promise<string | null> {
  const { rows } = await db.query<{ id: number; name: string }>(
    `WITH RECURSIVE up(job_id, depth) AS (
       SELECT $1::bigint, 0
       UNION ALL
       SELECT n.workflow_job_id, up.depth + 1 FROM up JOIN workflow_job_nodes n ON n.job_id = up.job_id WHERE up.depth < 100)
     SELECT t.id, t.name FROM up JOIN unified_jobs j ON j.id = up.job_id JOIN workflow_job_templates t ON t.id = j.unified_job_template_id
      ORDER BY up.depth`, [wj.id]);
  return recursionExplanation(Number(template.id), template.name, rows.map((r) => ({ id: Number(r.id), name: r.name })));
}

/** The workflow job's own prompts: the fields it carries that were set (AWX's prompts_dict of the workflow job). */
function workflowJobPrompts(wj: WorkflowJobRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (wj.inventory_id !== null) out.inventory_id = Number(wj.inventory_id);
  for (const f of ['limit', 'scm_branch', 'job_tags', 'skip_tags'] as const) if (wj[f]) out[f] = wj[f];
  return out;
}

function nodePrompts(node: SpawnNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (node.inventory_id !== null) out.inventory_id = Number(node.inventory_id);
  for (const f of ['limit', 'job_tags', 'skip_tags', 'scm_branch', 'job_type', 'verbosity', 'diff_mode'] as const) {
    if (node[f] !== null) out[f] = node[f];
  }
  return out;
}

/** Prompt field → the template's flag that accepts it. */
const JT_ASK: Record<string, string> = {
  inventory_id: 'ask_inventory_on_launch', limit: 'ask_limit_on_launch', job_tags: 'ask_tags_on_launch', skip_tags: 'ask_skip_tags_on_launch',
  scm_branch: 'ask_scm_branch_on_launch', job_type: 'ask_job_type_on_launch', verbosity: 'ask_verbosity_on_launch',
  diff_mode: 'ask_diff_mode_on_launch',
};
const WFJT_ASK: Record<string, string> = {
  inventory_id: 'ask_inventory_on_launch', limit: 'ask_limit_on_launch', job_tags: 'ask_tags_on_launch', skip_tags: 'ask_skip_tags_on_launch',
  scm_branch: 'ask_scm_branch_on_launch',
};

/** Extra vars a template accepts: all when it asks for variables, else its survey's questions. */
export function acceptedVars(template: Record<string, any>,
  vars: Record<string, unknown>): Record<string, unknown> {
  if (template.ask_variables_on_launch) return { ...vars };
  if (!template.survey_enabled) return {};
  const spec = (template.survey_spec ?? {}) as { spec?: { variable?: string }[] };
  const asked = new Set((spec.spec ?? []).map((q) => q.variable));
  return Object.fromEntries(Object.entries(vars).filter(([k]) => asked.has(k)));
}

async function jobPrompts(db: pg.PoolClient, jt: Record<string, any>, node: SpawnNode, wj: WorkflowJobRow,
  artifacts: Record<string, unknown>): Promise<JobOverrides> {
  const combined = { ...nodePrompts(node), ...workflowJobPrompts(wj) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(combined)) if (jt[JT_ASK[k]]) out[k] = v;
  if (node.credentials.length && jt.ask_credential_on_launch) out.credentials = await mergeCredentials(db, jt.id, node.credentials);
  const extraVars = { ...acceptedVars(jt, node.extra_data ?? {}), ...artifacts, ...parseVars(wj.extra_vars) };
  if (Object.keys(extraVars).length) out.extra_vars = extraVars;
  return out as JobOverrides;
}

function workflowPrompts(wfjt: Record<string, any>, node: SpawnNode, wj: WorkflowJobRow, artifacts: Record<string, unknown>): WorkflowOverrides {
  const combined = { ...nodePrompts(node), ...workflowJobPrompts(wj) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(combined)) if (WFJT_ASK[k] && wfjt[WFJT_ASK[k]]) out[k] = v;
  const extraVars = { ...acceptedVars(wfjt, { ...(node.extra_data ?? {}), ...parseVars(wj.extra_vars) }), ...artifacts };
  if (Object.keys(extraVars).length) out.extra_vars = extraVars;
  return out as WorkflowOverrides;
}

/** A node's credentials replace the template's of the same credential type (AWX's unique_dict by kind). */
async function mergeCredentials(db: pg.PoolClient, jobTemplateId: number, nodeCredentials: number[]): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT c.id FROM job_template_credentials jc JOIN credentials c ON c.id = jc.credential_id
      WHERE jc.job_template_id = $1 AND c.credential_type_id NOT IN (SELECT credential_type_id FROM credentials WHERE id = ANY($2::bigint[]))`,
    [jobTemplateId, nodeCredentials]);
  return [...rows.map((r) => Number(r.id)), ...nodeCredentials];
}

function groupBy<T>(rows: T[], key: (r: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const k = Number(key(r));
    let list = out.get(k);
    if (!list) out.set(k, list = []);
    list.push(r);
  }
  return out;
}
