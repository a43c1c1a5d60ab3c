import type pg from 'pg';
import { atomically } from '../db/pool.js';
import { saveFinalStatus, type StatusBus, wakeTaskManager } from './job-states.js';

/**
 * How the rest of Playstream hands work to the scheduler. The contract is the database: a
 * unified job row in status `pending` is a request to run; the NOTIFY is only a wake-up
 * hint (the task manager also polls), so a lost notification delays, never loses, a job.
 */
type Queryable = Pick<pg.Pool, 'query'>;

export const CANCEL_CHANNEL = 'playstream_cancel';

/** Columns of unified_jobs a submitter may set (see 0001_foundation.sql). */
export type UnifiedJobFields = Record<string, unknown> & { kind: string; name: string };

/**
 * Inserts a unified job as `pending` (with its credentials), creates its event partition
 * ahead of its first event, and wakes the task manager. Returns the new job's id. Given the
 * pool, it does so in a transaction of its own, so the task manager never sees the job
 * without its credentials; call it inside the caller's transaction when the launch must be
 * atomic with other writes (a workflow's nodes, launch-workflow.ts).
 */
export function submitUnifiedJob(db: Queryable, fields: UnifiedJobFields, credentialIds: number[] = []): Promise<number> {
  return atomically(db, (tx) => insertUnifiedJob(tx, fields, credentialIds));
}

async function insertUnifiedJob(db: Queryable, fields: UnifiedJobFields, credentialIds: number[]): Promise<number> {
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

export interface SubmittedJob { fields: UnifiedJobFields; credentialIds: number[] }

/**
 * submitUnifiedJob for many jobs in a few statements (the workflow pass starting the next
 * nodes of a thousand workflows): multi-row INSERTs of at most INSERT_ROWS rows, ids
 * returned in the order given; one credentials INSERT, one partition check, one wake-up.
 */
const INSERT_PARAMS = 60_000;

export async function submitUnifiedJobs(db: Queryable, jobs: SubmittedJob[]): Promise<number[]> {
  if (!jobs.length) return [];
  const cols = [...new Set(jobs.flatMap((j) => Object.keys(j.fields)))];
  const perChunk = Math.max(1, Math.floor(INSERT_PARAMS / cols.length));
  const ids: number[] = [];
  let created: Date | null = null;
  for (let at = 0; at < jobs.length; at += perChunk) {
    const chunk = jobs.slice(at, at + perChunk);
    const params: unknown[] = [];
    const values = chunk.map((j) => `(${cols.map((c) => {
      if (!(c in j.fields)) return 'DEFAULT';
      params.push(j.fields[c]);
      return `$${params.length}`;
    }).join(', ')}, 'pending')`);
    // Rows of one multi-row VALUES are inserted, and so numbered and returned, in the order written.
    const { rows } = await db.query<{ id: number; created: Date }>(
      `INSERT INTO unified_jobs (${cols.map((c) => `"${c}"`).join(', ')}, status) VALUES ${values.join(', ')} RETURNING id, created`, params);
    ids.push(...rows.map((r) => r.id).sort((a, b) => a - b));
    created ??= rows[0].created;
  }
  const pairs = jobs.flatMap((j, i) => j.credentialIds.map((c) => [ids[i], c]));
  if (pairs.length) {
    await db.query(`INSERT INTO unified_job_credentials (unified_job_id, credential_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])`,
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
  }
  await db.query('SELECT ensure_event_partitions($1)', [created]);
  await wakeTaskManager(db);
  return ids;
}

/**
 * Requests cancel. The flag is set first, so a worker about to start the job sees it and does
 * not (markRunning requires NOT cancel_flag). A job not yet running is then canceled at once
 * through the state machine, which runs the notification rendezvous and publishes the status
 * change; a running one is stopped by its node (told by NOTIFY: SIGTERM, then SIGKILL) which
 * saves `canceled`. Returns false when the job has already finished (AWX answers 405).
 */
export async function cancelUnifiedJob(pool: pg.Pool, jobId: number, bus?: StatusBus): Promise<boolean> {
  const { rows } = await pool.query<{ status: string }>(
    `UPDATE unified_jobs SET cancel_flag = true, canceled_on = now(), modified = now()
      WHERE id = $1 AND status IN ('new', 'pending', 'waiting', 'running') RETURNING status`, [jobId]);
  if (!rows.length) return false;
  if (rows[0].status !== 'running') {
    await saveFinalStatus(pool, bus, jobId, { status: 'canceled' }, ['new', 'pending', 'waiting']);
  }
  await pool.query(`SELECT pg_notify('${CANCEL_CHANNEL}', $1)`, [String(jobId)]);
  return true;
}
