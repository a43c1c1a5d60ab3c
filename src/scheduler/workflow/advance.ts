import type pg from 'pg';
import { WORKFLOW_JOB_ID_SQL } from '../job-states.js';
import { decideWorkflow, type EdgeKind, type GraphNode } from './graph.js';
import { spawnNodeJobs, type WorkflowJobRow } from './spawn.js';

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
  started: { id: number; kind: string; status: string; unified_job_template_id: number | null; finished: null; workflow_job_id: number | null }[];
  /** Workflow jobs to finish. */
  finished: { id: number; status: 'successful' | 'failed' | 'canceled'; explanation: string }[];
  /** Jobs of canceled workflows to cancel. */
  cancel: number[];
  /** Node jobs that could not start (a missing resource, recursion): created `new`, to be failed with this explanation. */
  refused: { id: number; explanation: string }[];
  /** Approvals past their timeout, to be failed with timed_out. */
  expired: { id: number; explanation: string }[];
  /** Jobs created for nodes in this pass, as they stand (published, so a workflow view sees a node's job appear; approvals notify). */
  created: { id: number; kind: string; status: string; unified_job_template_id: number | null; finished: null; workflow_job_id: number }[];
  spawned: number;
}

interface NodeRow {
  id: number; workflow_job_id: number; unified_job_template_id: number | null; do_not_run: boolean; all_parents_must_converge: boolean;
  job_id: number | null; job_status: string | null; job_cancel_flag: boolean | null;
}

export async function advanceWorkflows(db: pg.PoolClient): Promise<WorkflowPassResult> {
  const result: WorkflowPassResult = { started: [], finished: [], cancel: [], refused: [], expired: [], created: [], spawned: 0 };
  result.expired = await expiredApprovals(db);
  result.started = await startPendingWorkflows(db);
  const { rows: workflows } = await db.query<WorkflowJobRow>(
    `SELECT id, name, unified_job_template_id, cancel_flag, created_by_id, inventory_id, "limit", scm_branch, job_tags, skip_tags, extra_vars,
            is_sliced_job, job_slice_count, launch_prompts
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
  const toStart: { wj: WorkflowJobRow; nodeId: number }[] = [];
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
    for (const nodeId of d.start) toStart.push({ wj, nodeId });
  }
  if (doNotRun.length) {
    await db.query('UPDATE workflow_job_nodes SET do_not_run = true, modified = now() WHERE id = ANY($1::bigint[])', [doNotRun]);
  }
  result.refused.push(...await spawnNodeJobs(db, toStart));
  result.spawned = toStart.length;
  if (toStart.length) {
    const { rows: created } = await db.query<WorkflowPassResult['created'][number]>(
      `SELECT u.id, u.kind, u.status, u.unified_job_template_id, NULL AS finished, n.workflow_job_id
         FROM workflow_job_nodes n JOIN unified_jobs u ON u.id = n.job_id WHERE n.id = ANY($1::bigint[]) AND u.status <> 'new' ORDER BY u.id`,
      [toStart.map((s) => s.nodeId)]);
    result.created = created.map((c) => ({ ...c, id: Number(c.id), workflow_job_id: Number(c.workflow_job_id) }));
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
  const { rows } = await db.query<{ id: number; kind: string; status: string; unified_job_template_id: number | null; workflow_job_id: number | null }>(
    `UPDATE unified_jobs u SET status = 'running', started = now(), modified = now(), job_explanation = ''
      WHERE id = ANY($1::bigint[]) AND status = 'pending' RETURNING id, kind, status, unified_job_template_id, ${WORKFLOW_JOB_ID_SQL}`, [start]);
  return rows.map((r) => ({ ...r, finished: null }));
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
