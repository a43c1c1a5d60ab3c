import pg from 'pg';
import { log } from '../log.js';
import { EVENT_TABLES, partitionHour } from './event-partitions.js';
import { jobKinds } from './job-kinds.js';
import type { Pool } from './pool.js';

/**
 * A trigram index (pg_trgm, migration 0600) on the stdout of each hourly event partition
 * whose jobs are all done writing to it, so `?stdout__icontains=` over a finished job
 * reads the index instead of every line of the partition: 28 ms against 1.2 s for one term
 * in a job of 1,000,000 events (docs/benchmarks.md ## API).
 *
 * Events go to the partition of their job's creation hour, so a partition is still written
 * while any job created in that hour runs or has events to store. The ingest path never
 * pays for the index: a partition is indexed only once its hour is over and every job
 * created in it is finished with its events processed, or a day after its hour (a job
 * stuck in `running`, or one that runs for days, must not keep its hour's jobs unsearchable
 * for good: what it still writes then pays the index's upkeep). The cost moves to this background
 * build: ~24 s of one Postgres backend for 1,000,000 events, an index of about a quarter
 * of the partition's size. A search over a partition not indexed (the current hour, a job
 * still running, one under MIN_PARTITION_BYTES) reads it, as before.
 *
 * Runs on the nodes that manage (dispatcher-main.ts), newest partition first; an advisory
 * lock keeps two nodes from building at once. Builds are CONCURRENTLY (the partition stays
 * writable); one interrupted leaves an invalid index, dropped and built again on the next
 * pass. PLAYSTREAM_EVENT_SEARCH_INDEX=false turns it off.
 */

/** The pg_advisory_lock key of the builder (any fixed bigint not used elsewhere). */
const LOCK_KEY = 7_152_441_903;
const SUFFIX = '_stdout_trgm';
/** Smaller partitions (under ~25,000 events) are read whole in milliseconds: no index. */
export const MIN_PARTITION_BYTES = 8 * 1024 * 1024;
/** A partition still written is indexed anyway this long after its hour is over. */
export const STILL_WRITTEN_GRACE_MS = 24 * 3_600_000;

/** The name of a partition's stdout index. */
export function searchIndexName(partition: string): string {
  return `${partition}${SUFFIX}`;
}

/**
 * Indexes every event partition that is ready (see above) and not indexed yet. Returns the
 * partitions indexed; none when another node holds the builder's lock. `stop` cancels the
 * build under way (its backend is told to stop: a shutdown does not wait for a build of
 * minutes) and starts no other.
 */
export async function indexEventSearch(pool: Pool, now = new Date(), stop?: AbortSignal): Promise<string[]> {
  const client = await pool.connect();
  const { rows: [{ pid }] } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const cancel = () => { void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {}); };
  stop?.addEventListener('abort', cancel);
  try {
    const { rows: [lock] } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY]);
    if (!lock.ok) return [];
    try {
      const built: string[] = [];
      for (const partition of await readyPartitions(client, now)) {
        if (stop?.aborted) break;
        const index = searchIndexName(partition.name);
        // A build that was interrupted (a restart, a cancel) leaves an invalid index behind.
        if (partition.invalid) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${pg.escapeIdentifier(index)}`);
        const started = performance.now();
        await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${pg.escapeIdentifier(index)} ON ${pg.escapeIdentifier(partition.name)} USING gin (stdout gin_trgm_ops)`);
        log.info('event partition indexed for stdout search', { partition: partition.name, seconds: ((performance.now() - started) / 1000).toFixed(1) });
        built.push(partition.name);
      }
      return built;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  } catch (err) {
    if (stop?.aborted) return [];
    throw err;
  } finally {
    stop?.removeEventListener('abort', cancel);
    client.release();
  }
}

/** Event partitions of some size without a valid stdout index whose hour is over and whose jobs are done (or a day past it), newest first. */
async function readyPartitions(db: { query: Pool['query'] }, now: Date): Promise<{ name: string; invalid: boolean }[]> {
  const { rows } = await db.query<{ name: string; invalid: boolean }>(
    `SELECT c.relname AS name, x.indexrelid IS NOT NULL AS invalid
       FROM pg_inherits i
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_class c ON c.oid = i.inhrelid
       LEFT JOIN pg_class xc ON xc.relname = c.relname || $2 AND xc.relkind = 'i'
       LEFT JOIN pg_index x ON x.indexrelid = xc.oid
      WHERE p.relname = ANY($1::text[]) AND (x.indexrelid IS NULL OR NOT x.indisvalid)
        AND pg_relation_size(c.oid) >= $3`, [EVENT_TABLES, SUFFIX, MIN_PARTITION_BYTES]);
  const candidates = rows
    .map((r) => ({ ...r, hour: partitionHour(r.name) }))
    .filter((r): r is typeof r & { hour: Date } => r.hour !== undefined && r.hour.getTime() + 3_600_000 <= now.getTime())
    .sort((a, b) => b.hour.getTime() - a.hour.getTime());
  if (!candidates.length) return [];
  // Hours still written: a job (of a kind with events) created in them that is not finished,
  // or whose events are still being stored (stream-deadline.ts ends that wait for every one).
  const { rows: busy } = await db.query<{ hour: Date }>(
    `SELECT DISTINCT date_trunc('hour', created, 'UTC') AS hour FROM unified_jobs
      WHERE created >= $1 AND created < $2 AND kind = ANY($3::text[])
        AND (status IN ('new', 'pending', 'waiting', 'running') OR NOT event_processing_finished)`,
    [candidates[candidates.length - 1].hour, new Date(candidates[0].hour.getTime() + 3_600_000), Object.keys(jobKinds)]);
  const written = new Set(busy.map((b) => new Date(b.hour).getTime()));
  const graceOver = (hour: Date) => hour.getTime() + 3_600_000 + STILL_WRITTEN_GRACE_MS <= now.getTime();
  return candidates.filter((c) => !written.has(c.hour.getTime()) || graceOver(c.hour)).map(({ name, invalid }) => ({ name, invalid }));
}
