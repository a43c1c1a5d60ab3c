import os from 'node:os';
import type pg from 'pg';
import { log } from '../log.js';
import { version } from '../paths.js';
import { instanceCapacity } from './capacity.js';
import { REAPED_EXPLANATION, saveFinalStatus, type StatusBus } from './job-states.js';

/**
 * Cluster membership: each node registers as an instance (hostname, node type, capacity from
 * its CPUs and memory, version) and heartbeats `last_seen`. Every node also looks for peers
 * silent longer than the tolerance, marks them `unavailable` with capacity 0, and reaps their
 * waiting/running jobs as failed ("Job reaped due to instance shutdown"). A node starting
 * up reaps its own waiting/running jobs: whatever ran there died with its previous process.
 *
 * A node that cannot run jobs (programs missing) heartbeats with `errors` set, as AWX's
 * health check does: capacity 0, so the task manager places nothing there and explains why.
 * Each heartbeat states the node's current errors, so installing the programs gives the
 * capacity back within one period, without a restart.
 */
export async function heartbeat(pool: pg.Pool, node: string, opts: { errors?: string } = {}): Promise<void> {
  const cap = instanceCapacity(os.cpus().length, os.totalmem());
  const errors = opts.errors ?? '';
  await pool.query(
    `INSERT INTO instances (hostname, node_type, version, cpu, memory, cpu_capacity, mem_capacity, capacity, last_seen, node_state, errors)
     VALUES ($1, 'hybrid', $2, $3, $4, $5, $6, CASE WHEN $8::text = '' THEN $7 ELSE 0 END, now(), 'ready', $8::text)
     ON CONFLICT (hostname) DO UPDATE SET last_seen = now(), version = $2, cpu = $3, memory = $4, cpu_capacity = $5,
       mem_capacity = $6, node_state = 'ready', errors = $8::text, modified = now(),
       capacity = CASE WHEN $8::text <> '' THEN 0
         ELSE floor(least($5, $6) + (greatest($5, $6) - least($5, $6)) * instances.capacity_adjustment)::int END`,
    [node, version, os.cpus().length, os.totalmem(), cap.cpuCapacity, cap.memCapacity, cap.capacity, errors]);
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

/** Marks peers silent past the tolerance as lost and reaps their jobs. Returns the lost nodes. */
export async function reapLostInstances(pool: pg.Pool, bus: StatusBus | undefined, self: string, toleranceSeconds: number): Promise<string[]> {
  const { rows } = await pool.query<{ hostname: string }>(
    `UPDATE instances SET node_state = 'unavailable', capacity = 0, errors = 'heartbeat lost', modified = now()
      WHERE hostname <> $1 AND node_state = 'ready' AND last_seen < now() - make_interval(secs => $2)
      RETURNING hostname`, [self, toleranceSeconds]);
  // Jobs of nodes lost earlier (marked by a peer that died before reaping) are reaped too.
  const { rows: orphans } = await pool.query<{ execution_node: string }>(
    `SELECT DISTINCT j.execution_node FROM unified_jobs j JOIN instances i ON i.hostname = j.execution_node
      WHERE j.status IN ('waiting', 'running') AND i.node_state = 'unavailable' AND i.hostname <> $1`, [self]);
  const nodes = new Set([...rows.map((r) => r.hostname), ...orphans.map((r) => r.execution_node)]);
  for (const node of nodes) await reapJobs(pool, bus, node);
  return rows.map((r) => r.hostname);
}
