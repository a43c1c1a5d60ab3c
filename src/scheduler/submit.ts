import type pg from 'pg';

/**
 * How the rest of Playstream hands work to the scheduler. The contract is the database: a
 * unified job row in status `pending` is a request to run; the NOTIFY is only a wake-up
 * hint (the task manager also polls), so a lost notification delays, never loses, a job.
 */
type Queryable = Pick<pg.Pool, 'query'>;

export const TASK_MANAGER_CHANNEL = 'playstream_task_manager';
export const CANCEL_CHANNEL = 'playstream_cancel';

export async function wakeTaskManager(db: Queryable): Promise<void> {
  await db.query(`SELECT pg_notify('${TASK_MANAGER_CHANNEL}', '')`);
}

/** Columns of unified_jobs a submitter may set (see 0001_foundation.sql). */
export type UnifiedJobFields = Record<string, unknown> & { kind: string; name: string };

/**
 * Inserts a unified job as `pending` (with its credentials), creates its event partition
 * ahead of its first event, and wakes the task manager. Returns the new job's id.
 * Call inside the caller's transaction when the launch must be atomic with other writes.
 */
export async function submitUnifiedJob(db: Queryable, fields: UnifiedJobFields, credentialIds: number[] = []): Promise<number> {
  const cols = Object.keys(fields);
  const { rows } = await db.query<{ id: number; created: Date }>(
    `INSERT INTO unified_jobs (${cols.map((c) => `"${c}"`).join(', ')}, status)
     VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}, 'pending') RETURNING id, created`,
    cols.map((c) => fields[c]));
  const { id, created } = rows[0];
  if (credentialIds.length) {
    await db.query(`INSERT INTO unified_job_credentials (unified_job_id, credential_id) SELECT $1, unnest($2::bigint[])`, [id, credentialIds]);
  }
  await db.query('SELECT ensure_event_partitions($1)', [created]);
  await wakeTaskManager(db);
  return id;
}

/**
 * Requests cancel. A job not yet running is canceled at once; a running one has its flag
 * set and its node is told (NOTIFY), which stops the runner (SIGTERM, then SIGKILL) and
 * saves `canceled`. Returns false when the job has already finished (AWX answers 405).
 */
export async function cancelUnifiedJob(db: Queryable, jobId: number): Promise<boolean> {
  const { rows } = await db.query<{ status: string }>(
    `UPDATE unified_jobs SET cancel_flag = true, modified = now(),
        status = CASE WHEN status IN ('new', 'pending', 'waiting') THEN 'canceled' ELSE status END,
        finished = CASE WHEN status IN ('new', 'pending', 'waiting') THEN now() ELSE finished END,
        canceled_on = now()
      WHERE id = $1 AND status IN ('new', 'pending', 'waiting', 'running') RETURNING status`, [jobId]);
  if (!rows.length) return false;
  await db.query(`SELECT pg_notify('${CANCEL_CHANNEL}', $1)`, [String(jobId)]);
  return true;
}
