import type pg from 'pg';
import { hostStatusCounts, hostSummaries } from './derive.js';
import type { JobInfo } from './job-cache.js';
import type { ParsedEvent } from './parse-event.js';
import { decideNotifications, FINAL_STATUSES, RENDEZVOUS_COLUMNS, type RendezvousRow } from './rendezvous.js';

/**
 * What the receiver does for a job besides storing its rows, inside the batch's
 * transaction, after the COPY and under the job's row lock (taken with the COPY, ids in
 * ascending order, so workers never deadlock: lockJobsStatement):
 *
 * 1. playbook_on_stats stored (first time: the de-dup path reports a replayed one as not
 *    inserted): job_host_summaries, hosts.last_job_id / last_job_host_summary_id, and the
 *    job's host_status_counts (AWX precedence dark > failures > changed > ok > skipped).
 * 2. The job's stream:
 *    - EOF: eof_received, emitted_events = final_counter; for inventory updates and system
 *      jobs EOF is the wrapup event.
 *    - once EOF is known, count the stored events; when all are there the stream is
 *      complete: failed/changed are propagated to parent events (AWX does it at stats
 *      time, which misses events still in another worker's batch; at completion none are),
 *      and event_processing_finished follows if the final status is saved.
 *    - the notification rendezvous (rendezvous.ts).
 * The count runs after the lock is taken, in a statement whose snapshot sees every batch
 * committed before ours: of two workers finishing one job, the second always sees it all.
 */
export interface JobWrapupInput {
  job: JobInfo;
  /** Highest final_counter of EOFs for this job in the batch, if any. */
  eofFinalCounter: number | null;
  /** playbook_on_stats newly inserted in this batch. */
  stats: ParsedEvent | null;
}

export interface JobWrapupResult {
  jobId: number;
  row: RendezvousRow;
  eofInBatch: boolean;
  finalCounter: number;
  /** event_processing_finished turned true in this batch. */
  finishedNow: boolean;
  notificationsCreated: number;
}

export async function applyHostSummaries(db: pg.ClientBase, job: JobInfo, stats: ParsedEvent): Promise<void> {
  const summaries = hostSummaries(stats.eventData);
  if (summaries.length) {
    const { rows } = await db.query<{ id: number; host_id: number | null }>(
      `INSERT INTO job_host_summaries (job_id, host_id, host_name, changed, dark, failures, ignored, ok, processed, rescued, skipped, failed)
       SELECT $1, x.host_id, x.host_name, x.changed, x.dark, x.failures, x.ignored, x.ok, x.processed, x.rescued, x.skipped, x.failed
         FROM jsonb_to_recordset($2::jsonb) AS x(host_id bigint, host_name text, changed int, dark int, failures int, ignored int,
              ok int, processed int, rescued int, skipped int, failed boolean)
       ON CONFLICT (job_id, host_name) DO UPDATE SET host_id = EXCLUDED.host_id, changed = EXCLUDED.changed, dark = EXCLUDED.dark,
         failures = EXCLUDED.failures, ignored = EXCLUDED.ignored, ok = EXCLUDED.ok, processed = EXCLUDED.processed,
         rescued = EXCLUDED.rescued, skipped = EXCLUDED.skipped, failed = EXCLUDED.failed, modified = now()
       RETURNING id, host_id`,
      [job.id, JSON.stringify(summaries.map((s) => ({ host_id: job.hostMap.get(s.host) ?? null, host_name: s.host, ...s.counts, failed: s.failed })))]);
    const withHost = rows.filter((r) => r.host_id !== null);
    if (withHost.length) {
      await db.query(
        `UPDATE hosts h SET last_job_id = $1, last_job_host_summary_id = s.sid, modified = now()
           FROM unnest($2::bigint[], $3::bigint[]) AS s(host_id, sid) WHERE h.id = s.host_id`,
        [job.id, withHost.map((r) => r.host_id), withHost.map((r) => r.id)]);
    }
  }
}

/**
 * The jobs' row locks, taken by one statement that also reads their rendezvous rows (as
 * one JSON array). It is sent as text (`EXECUTE`), so it can ride in the batch's first write
 * with BEGIN and the COPY (store-batch.ts); planned once per connection (prepareJobLocks):
 * re-planned per batch it cost Postgres ~0.3 ms each time. Ids in ascending order, so
 * workers locking overlapping sets never deadlock.
 */
const LOCK_STATEMENT = 'ps_receiver_job_locks';
const lockPrepared = new WeakSet<pg.ClientBase>();

export async function prepareJobLocks(db: pg.ClientBase): Promise<void> {
  if (lockPrepared.has(db)) return;
  await db.query(`PREPARE ${LOCK_STATEMENT}(bigint[]) AS
    SELECT coalesce(json_agg(r), '[]')::text AS locked FROM (SELECT ${RENDEZVOUS_COLUMNS} FROM unified_jobs
     WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE) r`);
  lockPrepared.add(db);
}

/** The statement locking `jobIds` (prepareJobLocks must have run on the connection, outside a transaction). */
export function lockJobsStatement(jobIds: number[]): string {
  return `EXECUTE ${LOCK_STATEMENT}('{${jobIds.map((id) => Number(id)).sort((a, b) => a - b).join(',')}}')`;
}

/** The rows the lock statement returned (its one text value). */
export function lockedRows(json: string | null): RendezvousRow[] {
  const rows = JSON.parse(json ?? '[]') as (Omit<RendezvousRow, 'started'> & { started: string | null })[];
  return rows.map((r) => ({ ...r, started: r.started === null ? null : new Date(r.started) }));
}

/** `locked`: the jobs' rows as read under their locks in this transaction (lockJobsStatement). */
export async function wrapupJobs(db: pg.ClientBase, inputs: JobWrapupInput[], locked: RendezvousRow[]): Promise<JobWrapupResult[]> {
  if (!inputs.length) return [];
  inputs.sort((a, b) => a.job.id - b.job.id);
  const byId = new Map(locked.map((r) => [r.id, r]));
  const results: JobWrapupResult[] = [];
  for (const input of inputs) {
    const row = byId.get(input.job.id);
    if (!row) continue;
    const sets: string[] = [];
    const args: unknown[] = [row.id];
    const set = (col: string, v: unknown) => { args.push(v); sets.push(`${col} = $${args.length}`); };
    const isEofWrapup = input.job.kind.wrapupEvent === 'EOF';
    if (input.eofFinalCounter !== null) {
      row.eof_received = true;
      row.emitted_events = input.eofFinalCounter;
      set('eof_received', true);
      set('emitted_events', input.eofFinalCounter);
    }
    if (input.stats && !isEofWrapup) {
      set('host_status_counts', JSON.stringify(hostStatusCounts(input.stats.eventData)));
    }
    if ((input.stats && !isEofWrapup) || (input.eofFinalCounter !== null && isEofWrapup)) {
      if (!row.wrapup_processed) {
        row.wrapup_processed = true;
        set('wrapup_processed', true);
        if (isEofWrapup) sets.push('host_status_counts = coalesce(host_status_counts, \'{}\'::jsonb)');
      }
    }
    let finishedNow = false;
    if (row.events_missing > 0) {
      // Closed by the deadline (stream-deadline.ts) and now an event arrived late: recount the gap.
      const n = await countEvents(db, input.job);
      row.events_missing = Math.max(0, row.emitted_events - n);
      set('events_missing', row.events_missing);
    } else if (row.eof_received && !row.stream_complete) {
      if (await countEvents(db, input.job) >= row.emitted_events) {
        row.stream_complete = true;
        set('stream_complete', true);
        if (input.job.kind.wrapupEvent === 'playbook_on_stats') {
          await propagateToParents(db, input.job.kind.eventTable, row.id, input.job.createdIso);
        }
      }
    }
    if (row.stream_complete && !row.event_processing_finished && FINAL_STATUSES.includes(row.status)) {
      row.event_processing_finished = true;
      finishedNow = true;
      set('event_processing_finished', true);
    }
    if (sets.length) await db.query(`UPDATE unified_jobs SET ${sets.join(', ')} WHERE id = $1`, args);
    const notificationsCreated = await decideNotifications(db, row);
    results.push({ jobId: row.id, row, eofInBatch: input.eofFinalCounter !== null, finalCounter: row.emitted_events,
      finishedNow, notificationsCreated });
  }
  return results;
}

async function countEvents(db: pg.ClientBase, job: JobInfo): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${job.kind.eventTable} WHERE job_id = $1 AND job_created = $2`, [job.id, job.createdIso]);
  return rows[0].n;
}

/** AWX: events that are parents of a changed (failed) event become changed (failed). */
async function propagateToParents(db: pg.ClientBase, table: string, jobId: number, jobCreated: string): Promise<void> {
  for (const col of ['changed', 'failed']) {
    await db.query(
      `UPDATE ${table} p SET ${col} = true
        WHERE p.job_id = $1 AND p.job_created = $2 AND NOT p.${col}
          AND p.uuid IN (SELECT c.parent_uuid FROM ${table} c
                          WHERE c.job_id = $1 AND c.job_created = $2 AND c.${col} AND c.parent_uuid <> '')`,
      [jobId, jobCreated]);
  }
}
