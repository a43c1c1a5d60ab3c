import type pg from 'pg';

/**
 * The dispatcher's task queue (migration 0200): submitting and claiming. A direct task is
 * a row naming its node; claiming deletes the rows it takes with FOR UPDATE SKIP LOCKED,
 * so concurrent claimers on one node never take the same task nor wait on each other. A
 * task claimed by a dispatcher that then dies is gone with it; the job it was running is
 * then reaped as an orphan (cluster.ts), which is the recovery AWX has too.
 *
 * Fanout tasks run on every node: a NOTIFY on FANOUT_CHANNEL with the task as JSON.
 */
type Queryable = Pick<pg.Pool, 'query'>;

export const FANOUT_CHANNEL = 'playstream_fanout';

export interface DispatcherTask { uuid: string; name: string; args: Record<string, unknown> }

export function dispatchChannel(node: string): string {
  return `playstream_dispatch_${node}`;
}

export async function submitDirectTask(db: Queryable, node: string, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const { rows } = await db.query<{ uuid: string }>(
    `INSERT INTO dispatcher_tasks (node, name, args) VALUES ($1, $2, $3) RETURNING uuid`, [node, name, args]);
  await db.query('SELECT pg_notify($1, $2)', [dispatchChannel(node), '']);
  return rows[0].uuid;
}

export async function submitFanoutTask(db: Queryable, name: string, args: Record<string, unknown> = {}): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [FANOUT_CHANNEL, JSON.stringify({ uuid: crypto.randomUUID(), name, args })]);
}

export async function claimTasks(db: Queryable, node: string, limit: number): Promise<DispatcherTask[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<DispatcherTask>(
    `DELETE FROM dispatcher_tasks WHERE id IN (
       SELECT id FROM dispatcher_tasks WHERE node = $1 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT $2)
     RETURNING uuid, name, args`, [node, limit]);
  return rows;
}
