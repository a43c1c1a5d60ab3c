import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { log } from '../log.js';
import { taskImpact } from './capacity.js';
import { createDependencies, failedDependencyExplanation } from './dependency-manager.js';
import { publishStatus, saveFinalStatus, type StatusBus, wakeTaskManager, WORKFLOW_JOB_ID_SQL } from './job-states.js';
import { candidateGroups, instanceErrors, loadPlacementState, placeJob } from './placement.js';
import { cancelUnifiedJob } from './submit.js';
import { dispatchChannel } from './task-queue.js';
import { createStartedNotifications } from './notifications.js';
import { advanceWorkflows, type WorkflowPassResult } from './workflow/advance.js';
import { createApprovalNotifications } from './workflow/approval-notifications.js';

/**
 * One task manager pass: pending → waiting for every job that is unblocked and fits.
 *
 * One pass runs at a time in the whole cluster: it holds a transaction-scoped advisory lock
 * (pg_try_advisory_xact_lock; a node that fails to get it skips, the holder's pass covers
 * the same jobs). Reads are whole-set queries and writes are unnest() bulk statements, so a
 * pass over 10,000 pending jobs is a handful of round trips (bench/scheduler).
 *
 * Blocking rules (AWX's dependency graph):
 * - a job template without allow_simultaneous runs one job at a time;
 * - a project update blocks jobs of that project, and runs one at a time per project;
 * - an inventory update blocks jobs and ad hoc commands on that inventory, and runs one at a
 *   time per inventory source;
 * - a system job runs one at a time per system job template;
 * - a job waits for its dependencies (dependency-manager.ts) and fails if one failed.
 * A job's local `sync` of its project (project-sync.ts) blocks nothing: it updates one
 * node's checkout, under that node's own lock, not the project (AWX excludes them too).
 *
 * Workflow jobs are advanced first (workflow/advance.ts): their pending jobs start, their
 * graphs are decided and the node jobs they spawn are placed by this same pass.
 *
 * A job none of whose candidate instances can run anything, because they report `errors`
 * (programs missing, cluster.ts), stays pending with those errors as its explanation, ahead
 * of any other reason: waiting for a dependency or a turn would hide the one fix it needs.
 */
export const TASK_MANAGER_LOCK = 7_204_001;
export const MAX_PENDING_PER_PASS = 20_000;

interface PendingJob {
  id: number; kind: string; name: string; unified_job_template_id: number | null; project_id: number | null;
  inventory_id: number | null; inventory_source_id: number | null; organization_id: number | null; forks: number;
  allow_simultaneous: boolean; job_explanation: string;
}
interface ActiveJob {
  id: number; kind: string; unified_job_template_id: number | null; project_id: number | null;
  inventory_id: number | null; inventory_source_id: number | null;
}

export interface PassResult { ran: boolean; placed: number; blocked: number; failed: number; dependencies: number }

export async function runTaskManagerPass(pool: pg.Pool, options: { bus?: StatusBus; heartbeatTolerance: number }): Promise<PassResult> {
  const failures: { id: number; explanation: string }[] = [];
  const result = await withTransaction(pool, async (db) => {
    const { rows: [lock] } = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [TASK_MANAGER_LOCK]);
    if (!lock.ok) return null;
    const workflows = await advanceWorkflows(db);
    const dependencies = await createDependencies(db);
    const { rows: pending } = await db.query<PendingJob>(
      `SELECT id, kind, name, unified_job_template_id, project_id, inventory_id, inventory_source_id, organization_id, forks,
              allow_simultaneous, job_explanation
         FROM unified_jobs WHERE status = 'pending' AND kind NOT IN ('workflow_job', 'workflow_approval') ORDER BY id LIMIT $1`, [MAX_PENDING_PER_PASS]);
    if (!pending.length) return { placed: [] as PlacedRow[], blocked: 0, dependencies, workflows };
    const { rows: active } = await db.query<ActiveJob>(
      `SELECT id, kind, unified_job_template_id, project_id, inventory_id, inventory_source_id
         FROM unified_jobs WHERE status IN ('waiting', 'running') AND launch_type <> 'sync'`);
    const { rows: deps } = await db.query<{ job: number; id: number; kind: string; name: string; status: string }>(
      `SELECT d.unified_job_id AS job, j.id, j.kind, j.name, j.status FROM unified_job_dependencies d
         JOIN unified_jobs j ON j.id = d.depends_on_id WHERE d.unified_job_id = ANY($1)`, [pending.map((p) => p.id)]);
    const { rows: hostCounts } = await db.query<{ inventory_id: number; n: number }>(
      `SELECT inventory_id, count(*)::int AS n FROM hosts WHERE inventory_id = ANY($1) AND enabled GROUP BY inventory_id`,
      [[...new Set(pending.map((p) => p.inventory_id).filter((x) => x !== null))]]);
    const hosts = new Map(hostCounts.map((h) => [h.inventory_id, h.n]));
    const placement = await loadPlacementState(db, options.heartbeatTolerance);

    const busy = { templates: new Set<number>(), projectUpdates: new Set<number>(), inventoryUpdates: new Set<number>(),
      sources: new Set<number>() };
    const occupy = (j: ActiveJob) => {
      if ((j.kind === 'job' || j.kind === 'system_job') && j.unified_job_template_id) busy.templates.add(j.unified_job_template_id);
      if (j.kind === 'project_update' && j.project_id) busy.projectUpdates.add(j.project_id);
      if (j.kind === 'inventory_update') {
        if (j.inventory_id) busy.inventoryUpdates.add(j.inventory_id);
        if (j.inventory_source_id) busy.sources.add(j.inventory_source_id);
      }
    };
    for (const j of active) occupy(j);
    const depsOf = new Map<number, typeof deps>();
    for (const d of deps) depsOf.set(d.job, [...(depsOf.get(d.job) ?? []), d]);

    const placed: PlacedRow[] = [];
    const explanations: { id: number; text: string }[] = [];
    // A held job keeps its template's place in line: a later job of the same template must not overtake it.
    const explain = (job: PendingJob, text: string) => {
      if (job.job_explanation !== text) explanations.push({ id: job.id, text });
      if (job.kind === 'job' && !job.allow_simultaneous && job.unified_job_template_id) busy.templates.add(job.unified_job_template_id);
    };
    for (const job of pending) {
      const jobDeps = depsOf.get(job.id) ?? [];
      const failedDep = jobDeps.find((d) => ['failed', 'error', 'canceled'].includes(d.status));
      if (failedDep) { failures.push({ id: job.id, explanation: failedDependencyExplanation(failedDep) }); continue; }
      const unrunnable = placement.anyErrors ? instanceErrors(placement, candidateGroups(placement, job)) : null;
      if (unrunnable) { explain(job, `waiting for an instance that can run it: ${unrunnable}`); continue; }
      const unfinished = jobDeps.find((d) => d.status !== 'successful');
      if (unfinished) { explain(job, `waiting for ${unfinished.kind} ${unfinished.id} to finish`); continue; }
      const blocker = blockedBy(job, busy);
      if (blocker) { explain(job, blocker); continue; }
      const impact = taskImpact(job.kind, hosts.get(job.inventory_id ?? -1) ?? 0, job.forks);
      const where = placeJob(placement, candidateGroups(placement, job), impact);
      if (!where) { explain(job, 'waiting for capacity: no instance in its instance groups has room'); continue; }
      occupy(job);
      placed.push({ id: job.id, node: where.hostname, ig: where.instanceGroupId, impact });
    }
    if (explanations.length) {
      await db.query(
        `UPDATE unified_jobs u SET job_explanation = v.text FROM unnest($1::bigint[], $2::text[]) AS v(id, text)
          WHERE u.id = v.id AND u.status = 'pending'`, [explanations.map((e) => e.id), explanations.map((e) => e.text)]);
    }
    const moved = await moveToWaiting(db, placed);
    return { placed: moved, blocked: pending.length - moved.length - failures.length, dependencies, workflows };
  });
  if (!result) return { ran: false, placed: 0, blocked: 0, failed: 0, dependencies: 0 };
  // The workflow pass's new node jobs (pending) before their placement (waiting) in this same pass.
  await publishStatus(options.bus, result.workflows.created);
  await publishStatus(options.bus, result.placed.map((p) => ({ id: p.id, kind: p.kind ?? 'job',
    unified_job_template_id: p.unified_job_template_id ?? null, status: 'waiting', finished: null, workflow_job_id: p.workflow_job_id })));
  // Their nodes are woken only now: a job started before its `waiting` went out would announce
  // `running` first (a node's 2 s claim poll can still find one sooner; rarely).
  for (const node of new Set(result.placed.map((p) => p.node))) await pool.query('SELECT pg_notify($1, $2)', [dispatchChannel(node), '']);
  for (const f of failures) {
    await saveFinalStatus(pool, options.bus, f.id, { status: 'failed', jobExplanation: f.explanation }, ['pending']);
  }
  await applyWorkflowOutcomes(pool, options.bus, result.workflows);
  return { ran: true, placed: result.placed.length, blocked: result.blocked, failed: failures.length, dependencies: result.dependencies };
}

interface PlacedRow {
  id: number; node: string; ig: number | null; impact: number; kind?: string; unified_job_template_id?: number | null; workflow_job_id?: number | null;
}

function blockedBy(job: PendingJob, busy: { templates: Set<number>; projectUpdates: Set<number>; inventoryUpdates: Set<number>;
  sources: Set<number> }): string | null {
  switch (job.kind) {
    case 'job':
      if (!job.allow_simultaneous && job.unified_job_template_id && busy.templates.has(job.unified_job_template_id)) {
        return `waiting for another job of job template ${job.unified_job_template_id} to finish`;
      }
      if (job.project_id && busy.projectUpdates.has(job.project_id)) return `waiting for a project update of project ${job.project_id}`;
      if (job.inventory_id && busy.inventoryUpdates.has(job.inventory_id)) return `waiting for an inventory update of inventory ${job.inventory_id}`;
      return null;
    case 'ad_hoc_command':
      if (job.inventory_id && busy.inventoryUpdates.has(job.inventory_id)) return `waiting for an inventory update of inventory ${job.inventory_id}`;
      return null;
    case 'project_update':
      return job.project_id && busy.projectUpdates.has(job.project_id) ? `waiting for another update of project ${job.project_id}` : null;
    case 'inventory_update':
      return job.inventory_source_id && busy.sources.has(job.inventory_source_id)
        ? `waiting for another update of inventory source ${job.inventory_source_id}` : null;
    case 'system_job':
      return job.unified_job_template_id && busy.templates.has(job.unified_job_template_id)
        ? `waiting for another job of system job template ${job.unified_job_template_id}` : null;
    default:
      return null;
  }
}

/** pending → waiting in one statement, and one dispatcher task per placed job for its node. */
async function moveToWaiting(db: pg.PoolClient, placed: PlacedRow[]): Promise<(PlacedRow & { kind: string })[]> {
  if (!placed.length) return [];
  const { rows } = await db.query<{ id: number; kind: string; unified_job_template_id: number | null; execution_node: string; workflow_job_id: number | null }>(
    `UPDATE unified_jobs u SET status = 'waiting', execution_node = v.node, controller_node = v.node,
        instance_group_id = v.ig, task_impact = v.impact, job_explanation = '', modified = now()
       FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[]) AS v(id, node, ig, impact)
      WHERE u.id = v.id AND u.status = 'pending'
      RETURNING u.id, u.kind, u.unified_job_template_id, u.execution_node, ${WORKFLOW_JOB_ID_SQL}`,
    [placed.map((p) => p.id), placed.map((p) => p.node), placed.map((p) => p.ig), placed.map((p) => p.impact)]);
  await db.query(
    `INSERT INTO dispatcher_tasks (node, name, args)
     SELECT node, 'run_unified_job', jsonb_build_object('job_id', id) FROM unnest($1::bigint[], $2::text[]) AS v(id, node)`,
    [rows.map((r) => r.id), rows.map((r) => r.execution_node)]);
  const byId = new Map(placed.map((p) => [p.id, p]));
  return rows.map((r) => ({ ...byId.get(r.id)!, kind: r.kind, unified_job_template_id: r.unified_job_template_id, workflow_job_id: r.workflow_job_id }));
}

/** The workflow pass's state changes, through the job state machine, after its transaction committed. */
async function applyWorkflowOutcomes(pool: pg.Pool, bus: StatusBus | undefined, w: WorkflowPassResult): Promise<void> {
  await publishStatus(bus, w.started);
  // Notifications: a workflow job's `started` (it never runs on an instance), an approval's needs-review and timed-out.
  const notify = (what: string, id: number, fn: () => Promise<unknown>) => fn().catch((err) => log.warn(`${what} notifications failed`, { job: id, err }));
  for (const s of w.started) await notify('started', s.id, () => createStartedNotifications(pool, s.id));
  for (const c of w.created) if (c.kind === 'workflow_approval') await notify('approval', c.id, () => createApprovalNotifications(pool, c.id, 'running'));
  for (const r of w.refused) await saveFinalStatus(pool, bus, r.id, { status: 'failed', jobExplanation: r.explanation }, ['new']);
  for (const e of w.expired) {
    if (await saveFinalStatus(pool, bus, e.id, { status: 'failed', jobExplanation: e.explanation, extra: { timed_out: true } }, ['pending'])) {
      await notify('approval', e.id, () => createApprovalNotifications(pool, e.id, 'timed_out'));
    }
  }
  for (const f of w.finished) {
    await saveFinalStatus(pool, bus, f.id, { status: f.status, jobExplanation: f.explanation || undefined }, ['running']);
  }
  for (const id of w.cancel) await cancelUnifiedJob(pool, id, bus);
  // A canceled child workflow is advanced (its own children canceled) by the next pass.
  if (w.cancel.length) await wakeTaskManager(pool);
}
