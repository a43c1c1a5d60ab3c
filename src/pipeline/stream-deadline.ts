import type { Redis } from 'ioredis';
import { isoUtcSql } from '../db/iso-timestamp.js';
import { jobKinds, type JobKind } from '../db/job-kinds.js';
import { type Pool, withTransaction } from '../db/pool.js';
import { log } from '../log.js';
import { publishBroadcast } from './broadcast.js';
import type { ReceiverMetrics } from './pipeline-metrics.js';
import { decideNotifications, FINAL_STATUSES, RENDEZVOUS_COLUMNS, type RendezvousRow } from './rendezvous.js';

/**
 * The bounded wait for a job's events. Normally a job finishes processing when its final
 * status is saved and every event its EOF announced is stored (rendezvous.ts, wrapup.ts).
 * If the producer died having announced more than it sent, or died before its EOF (a
 * dispatcher worker SIGKILLed: the job is then reaped without one), that never happens.
 *
 * So the receiver closes such a stream once the job has been final for `waitSeconds`:
 * stream_complete and event_processing_finished become true, `events_missing` records the
 * gap (the events announced, by EOF or by the highest stored counter, less those stored),
 * the metrics count it, the notification rendezvous is decided, and a `jobs` summary tells
 * the console that processing finished. A late event that still arrives is stored as
 * usual, and wrapup.ts recounts the gap.
 *
 * Every receiver of a cluster sweeps; the row lock and the re-check under it make two
 * sweeps of one job a no-op for the second.
 */
export interface ClosedStream { jobId: number; kind: string; status: string; finalCounter: number; missing: number }

const SWEEP_LIMIT = 100;

export async function closeStalledStreams(pool: Pool, waitSeconds: number): Promise<ClosedStream[]> {
  const { rows: candidates } = await pool.query<{ id: number }>(
    `SELECT id FROM unified_jobs
      WHERE NOT event_processing_finished AND status IN ('successful', 'failed', 'error', 'canceled')
        AND finished < now() - make_interval(secs => $1)
      ORDER BY finished LIMIT ${SWEEP_LIMIT}`, [waitSeconds]);
  const closed: ClosedStream[] = [];
  for (const { id } of candidates) {
    const done = await withTransaction(pool, async (db) => {
      const { rows: [row] } = await db.query<RendezvousRow & { created_iso: string }>(
        `SELECT ${RENDEZVOUS_COLUMNS}, ${isoUtcSql('created')} AS created_iso FROM unified_jobs
          WHERE id = $1 AND NOT event_processing_finished FOR NO KEY UPDATE SKIP LOCKED`, [id]);
      if (!row || !FINAL_STATUSES.includes(row.status)) return null;
      const table = jobKinds[row.kind as JobKind].eventTable;
      const { rows: [c] } = await db.query<{ n: number; hi: number | null }>(
        `SELECT count(*)::int AS n, max(counter) AS hi FROM ${table} WHERE job_id = $1 AND job_created = $2`, [id, row.created_iso]);
      const announced = Math.max(row.emitted_events, c.hi ?? 0);
      const missing = Math.max(0, announced - c.n);
      await db.query(
        `UPDATE unified_jobs SET stream_complete = true, event_processing_finished = true, emitted_events = $2, events_missing = $3
          WHERE id = $1`, [id, announced, missing]);
      Object.assign(row, { stream_complete: true, event_processing_finished: true, emitted_events: announced });
      await decideNotifications(db, row);
      return { jobId: id, kind: row.kind, missing, finalCounter: announced, status: row.status };
    });
    if (done) closed.push(done);
  }
  return closed;
}

/** Runs the sweep every `everyMs` until stopped; announces each closed stream after its commit. */
export function startStreamDeadline(opts: { pool: Pool; redis: Redis; broadcastChannel: string; waitSeconds: number;
  everyMs?: number; metrics: ReceiverMetrics }): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      for (const s of await closeStalledStreams(opts.pool, opts.waitSeconds)) {
        opts.metrics.streamsClosedIncomplete.inc();
        opts.metrics.eventsMissing.inc(s.missing);
        log.warn('closed an event stream that stopped short', { job: s.jobId, kind: s.kind, missing: s.missing, waited_s: opts.waitSeconds });
        await publishBroadcast(opts.redis, opts.broadcastChannel, { group: 'jobs-summary', messages: [{ group_name: 'jobs',
          unified_job_id: s.jobId, type: s.kind, final_counter: s.finalCounter, event_processing_finished: true, status: s.status }] })
          .catch((err) => log.warn('stream deadline broadcast failed', { err }));
      }
    } catch (err) {
      log.warn('stream deadline sweep failed', { err });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.everyMs ?? 5000);
  timer.unref();
  return () => clearInterval(timer);
}
