import os from 'node:os';
import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { log } from '../log.js';
import { version } from '../paths.js';
import { instanceCapacity } from './capacity.js';
import { applyMembershipPolicies } from './cluster-policy.js';
import { publishStatus, REAPED_EXPLANATION, saveFinalStatus, type StatusBus, wakeTaskManager } from './job-states.js';

/**
 * Cluster membership: each node registers as an instance (hostname, node type — AWX's
 * `hybrid`, `control` or `execution` from PLAYSTREAM_NODE_TYPE —, capacity from its CPUs and
 * memory, version) and heartbeats `last_seen`. A node registering for the first time, or
 * coming back after its peers marked it `unavailable`, joins the instance groups whose
 * policies want it (cluster-policy.ts), with no manual step.
 *
 * Every node that runs the task manager (control and hybrid) looks for peers silent longer
 * than the tolerance, marks them `unavailable` with capacity 0 and AWX's error ("Another
 * cluster node has determined this instance to be unresponsive"), and releases their work
 * (releaseNode): jobs placed there whose dispatcher task nobody claimed go back to pending
 * and are placed again; jobs that started there are failed with AWX's "Job reaped due to
 * instance shutdown". A node starting up releases its own work the same way: whatever ran
 * there died with its previous process (failed with AWX's startup_reaping explanation,
 * "Task was marked as running at system start up. ..."), and what was queued for it is
 * placed anew.
 *
 * A node that cannot run jobs (programs missing) heartbeats with `errors` set, as AWX's
 * health check does: capacity 0, so the task manager places nothing there and explains why.
 * Each heartbeat states the node's current errors, so installing the programs gives the
 * capacity back within one period, without a restart.
 */
export type NodeType = 'hybrid' | 'control' | 'execution';

export const LOST_ERROR = 'Another cluster node has determined this instance to be unresponsive';

/**
 * Returns whether this heartbeat (re)joined the cluster: a new instance, or one that was not
 * `ready`. Without `nodeType` a known instance keeps its type and a new one is hybrid.
 */
export async function heartbeat(pool: pg.Pool, node: string, opts: { errors?: string; nodeType?: NodeType } = {}): Promise<boolean> {
  const cap = instanceCapacity(os.cpus().length, os.totalmem());
  const errors = opts.errors ?? '';
  // `prev` reads the row as it was before this statement's upsert (one snapshot).
  const { rows: [r] } = await pool.query<{ id: number; prev: string | null }>(
    `WITH prev AS (SELECT node_state FROM instances WHERE hostname = $1)
     INSERT INTO instances (hostname, node_type, version, cpu, memory, cpu_capacity, mem_capacity, capacity, last_seen, node_state, errors)
     VALUES ($1, COALESCE($9, 'hybrid'), $2, $3, $4, $5, $6, CASE WHEN $8::text = '' THEN $7 ELSE 0 END, now(), 'ready', $8::text)
     ON CONFLICT (hostname) DO UPDATE SET last_seen = now(), version = $2, cpu = $3, memory = $4, cpu_capacity = $5,
       mem_capacity = $6, node_state = 'ready', errors = $8::text, modified = now(), node_type = COALESCE($9, instances.node_type),
       capacity = CASE WHEN $8::text <> '' THEN 0
         ELSE floor(least($5, $6) + (greatest($5, $6) - least($5, $6)) * instances.capacity_adjustment)::int END
     RETURNING id, (SELECT node_state FROM prev) AS prev`,
    [node, version, os.cpus().length, os.totalmem(), cap.cpuCapacity, cap.memCapacity, cap.capacity, errors, opts.nodeType ?? null]);
  if (r.prev === 'ready') return false;
  const joined = await applyMembershipPolicies(pool, r.id);
  log.info(r.prev === null ? 'registered as a new instance' : 'rejoining the cluster', { node, previous_state: r.prev, groups: joined });
  return true;
}

/**
 * Frees a node's work: its placed-but-unclaimed jobs (a dispatcher task still queued for it)
 * return to pending for the task manager to place again; its jobs that a worker took are
 * failed with `why`. Deleting the queued task first is what makes the return safe: the node,
 * should it still be alive, can no longer claim it, and its worker's waiting → running needs
 * the job still waiting on it. Returns the jobs put back and the jobs reaped.
 */
export async function releaseNode(pool: pg.Pool, bus: StatusBus | undefined, node: string, why = REAPED_EXPLANATION): Promise<{
  replaced: number[]; reaped: number[];
}> {
  const replaced = await withTransaction(pool, async (db) => {
    const { rows } = await db.query<{ id: number; kind: string; unified_job_template_id: number | null; finished: null }>(
      `WITH tasks AS (DELETE FROM dispatcher_tasks WHERE node = $1 AND name = 'run_unified_job' RETURNING (args->>'job_id')::bigint AS id)
       UPDATE unified_jobs u SET status = 'pending', execution_node = '', controller_node = '', instance_group_id = NULL,
           task_impact = 0, job_explanation = 'placed again: instance ' || $1 || ' left the cluster before starting it', modified = now()
         FROM tasks WHERE u.id = tasks.id AND u.status = 'waiting' AND u.execution_node = $1
       RETURNING u.id, u.kind, u.unified_job_template_id, u.finished`, [node]);
    if (rows.length) await wakeTaskManager(db);
    return rows;
  });
  await publishStatus(bus, replaced.map((r) => ({ ...r, status: 'pending' })));
  if (replaced.length) log.warn('jobs placed again', { node, jobs: replaced.map((r) => r.id) });
  return { replaced: replaced.map((r) => r.id), reaped: await reapJobs(pool, bus, node, why) };
}

export async function reapJobs(pool: pg.Pool, bus: StatusBus | undefined, node: string, why = REAPED_EXPLANATION): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(
    `SELECT id FROM unified_jobs WHERE execution_node = $1 AND status IN ('waiting', 'running') ORDER BY id`, [node]);
  const reaped: number[] = [];
  for (const { id } of rows) {
    if (await saveFinalStatus(pool, bus, id, { status: 'failed', jobExplanation: why }, ['waiting', 'running'])) reaped.push(id);
  }
  if (reaped.length) log.warn('reaped jobs', { node, jobs: reaped });
  return reaped;
}

/** Marks peers silent past the tolerance as lost and releases their work. Returns the lost nodes. */
export async function reapLostInstances(pool: pg.Pool, bus: StatusBus | undefined, self: string, toleranceSeconds: number): Promise<string[]> {
  const { rows } = await pool.query<{ hostname: string }>(
    `UPDATE instances SET node_state = 'unavailable', capacity = 0, errors = $3, modified = now()
      WHERE hostname <> $1 AND node_state = 'ready' AND last_seen < now() - make_interval(secs => $2)
      RETURNING hostname`, [self, toleranceSeconds, LOST_ERROR]);
  // Work of nodes lost earlier (marked by a peer that died before releasing it) is released too.
  const { rows: orphans } = await pool.query<{ node: string }>(
    `SELECT DISTINCT j.execution_node AS node FROM unified_jobs j JOIN instances i ON i.hostname = j.execution_node
      WHERE j.status IN ('waiting', 'running') AND i.node_state = 'unavailable' AND i.hostname <> $1`, [self]);
  const nodes = new Set([...rows.map((r) => r.hostname), ...orphans.map((r) => r.node)]);
  for (const node of nodes) await releaseNode(pool, bus, node);
  return rows.map((r) => r.hostname);
}

/**
 * `playstream deprovision NAME` (AWX's `awx-manage deprovision_instance`): the node's work is
 * released as if it were lost, then its instance row goes, and with it its group memberships
 * and peer links. A node whose processes still run registers again at its next heartbeat
 * (stop it first). Returns what was released; null when no such instance exists.
 */
export async function deprovisionInstance(pool: pg.Pool, bus: StatusBus | undefined, hostname: string): Promise<{
  replaced: number[]; reaped: number[];
} | null> {
  const { rows } = await pool.query(
    `UPDATE instances SET node_state = 'deprovisioning', capacity = 0, modified = now() WHERE hostname = $1 RETURNING id`, [hostname]);
  if (!rows.length) return null;
  const released = await releaseNode(pool, bus, hostname, REAPED_EXPLANATION);
  await pool.query(`DELETE FROM dispatcher_tasks WHERE node = $1`, [hostname]);
  await pool.query(`DELETE FROM instances WHERE hostname = $1`, [hostname]);
  log.info('instance deprovisioned', { hostname, ...released });
  return released;
}
