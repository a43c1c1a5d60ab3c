import type pg from 'pg';

/**
 * The dispatcher's task queue (migration 0200): claiming (the task manager submits,
 * task-manager.ts). A task is a row naming its node; claiming deletes the rows it takes with FOR UPDATE SKIP LOCKED,
 * so concurrent claimers on one node never take the same task nor wait on each other. A
 * task claimed by a dispatcher that then dies is gone with it; the job it was running is
 * then reaped as an orphan (cluster.ts), which is the recovery AWX has too.
 */
type Queryable = Pick<pg.Pool, 'query'>;

export interface DispatcherTask { uuid: string; name: string; args: Record<string, unknown> }

export function dispatchChannel(node: string): string {
  return `playstream_dispatch_${node}`;
}

export async function claimTasks(db: Queryable, node: string, limit: number): Promise<DispatcherTask[]> {
  if (limit <= 0) return [];
  const { rows } = await db.query<DispatcherTask>(
    `DELETE FROM dispatcher_tasks WHERE id IN (
       SELECT id FROM dispatcher_tasks WHERE node = $1 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT $2)
     RETURNING uuid, name, args`, [node, limit]);
  return rows;
}
