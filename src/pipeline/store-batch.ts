import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import type { Pool } from '../db/pool.js';
import { COPY_COLUMN_LIST, COPY_COLUMNS, encodeCopyRow, type EncodeStats } from './copy-encode.js';
import { insertDeadLetters } from './dead-letters.js';
import type { JobCache, JobInfo, PartitionCache } from './job-cache.js';
import type { BadEvent, ParsedEvent } from './parse-event.js';
import { applyHostSummaries, type JobWrapupInput, type JobWrapupResult, wrapupJobs } from './wrapup.js';

/**
 * One batch into Postgres, in one transaction. Three modes, chosen by the worker:
 *
 * - fast:    COPY straight into the partitioned table. A unique violation on
 *            (job_id, job_created, counter) means part of the batch was stored before (a
 *            replay after a crash between commit and ack): the worker retries in dedup.
 * - dedup:   COPY into a temp table, then INSERT … SELECT … ON CONFLICT DO NOTHING
 *            RETURNING id: rows already stored are skipped, exactly once holds. Used for
 *            every replayed batch and after any failed attempt (its COMMIT may have landed).
 * - isolate: a row that Postgres rejects for its data (none should pass parse-event, but
 *            the hot path must not wedge on one): each row alone under a savepoint, the
 *            rejects go to dead letters with Postgres' message, their batch-mates are stored.
 *
 * Ids are reserved from the table's sequence before the COPY so the broadcast can carry
 * them without a RETURNING round trip; a rolled-back attempt leaves a gap, as serials do.
 */
export type StoreMode = 'fast' | 'dedup' | 'isolate';

export interface StoredEvent {
  e: ParsedEvent;
  job: JobInfo;
  id: number;
  hostId: number | null;
}

export interface StoreOutcome {
  stored: StoredEvent[];
  /** Events skipped because their (job, counter) was already stored. */
  duplicates: number;
  dead: BadEvent[];
  jobs: JobWrapupResult[];
  modified: string;
  copyMs: number;
}

export interface StoreContext {
  pool: Pool;
  jobs: JobCache;
  partitions: PartitionCache;
  node: string;
  encodeStats: EncodeStats;
}

export async function storeBatch(ctx: StoreContext, items: (ParsedEvent | BadEvent)[], mode: StoreMode): Promise<StoreOutcome> {
  const dead: BadEvent[] = [];
  const good: ParsedEvent[] = [];
  for (const it of items) {
    if (it.ok) good.push(it); else dead.push(it);
  }
  const known = await ctx.jobs.resolve(ctx.pool, good.map((e) => e.jobId));
  const byTable = new Map<string, { job: JobInfo; e: ParsedEvent }[]>();
  const wrapups = new Map<number, JobWrapupInput>();
  for (const e of good) {
    const job = known.get(e.jobId);
    if (!job || job.kind !== e.kind) {
      dead.push({ ok: false, code: 'unknown_job', reason: job ? `job ${e.jobId} is a ${job.kind.kind}, not a ${e.kind.kind}`
        : `no ${e.kind.kind} with id ${e.jobId}`, raw: e.raw, jobId: e.jobId });
      continue;
    }
    let w = wrapups.get(job.id);
    if (!w) wrapups.set(job.id, w = { job, eofFinalCounter: null, stats: null });
    if (e.isEof) {
      w.eofFinalCounter = Math.max(w.eofFinalCounter ?? 0, e.finalCounter);
      continue;
    }
    let list = byTable.get(job.kind.eventTable);
    if (!list) byTable.set(job.kind.eventTable, list = []);
    list.push({ job, e });
  }
  for (const w of wrapups.values()) await ctx.partitions.ensure(ctx.pool, w.job.createdIso);

  const client = await ctx.pool.connect();
  // A checked-out client whose server goes away emits 'error' on itself (the pool only
  // guards idle ones); unheard, that kills the process. The failing query rejects too,
  // which is where the retry happens.
  const onClientError = () => {};
  client.on('error', onClientError);
  let released = false;
  try {
    const ids = new Map<string, number[]>();
    for (const [table, list] of byTable) {
      const { rows } = await client.query<{ id: number }>(
        `SELECT nextval('${table}_id_seq') AS id FROM generate_series(1, $1)`, [list.length]);
      ids.set(table, rows.map((r) => r.id));
    }
    await client.query('BEGIN');
    const stored: StoredEvent[] = [];
    let duplicates = 0;
    const modified = new Date().toISOString();
    const started = performance.now();
    for (const [table, list] of byTable) {
      const tableIds = ids.get(table)!;
      const rows = list.map(({ job, e }, i) => ({ job, e, id: tableIds[i], hostId: e.hostName ? job.hostMap.get(e.hostName) ?? null : null }));
      if (mode === 'isolate') {
        for (const r of rows) {
          const outcome = await insertOneIsolated(client, table, r, modified, ctx.encodeStats);
          if (outcome === 'stored') stored.push(r);
          else if (outcome === 'duplicate') duplicates++;
          else dead.push({ ok: false, code: 'store_failed', reason: outcome.error, raw: r.e.raw, jobId: r.e.jobId });
        }
        continue;
      }
      let text = '';
      for (const r of rows) text += encodeCopyRow(r.e, { id: r.id, modified, jobCreated: r.job.createdIso, hostId: r.hostId }, ctx.encodeStats);
      if (mode === 'fast') {
        await copyIn(client, `COPY ${table} (${COPY_COLUMN_LIST}) FROM STDIN`, text);
        stored.push(...rows);
      } else {
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS replay_${table} (LIKE ${table}) ON COMMIT DELETE ROWS`);
        await copyIn(client, `COPY replay_${table} (${COPY_COLUMN_LIST}) FROM STDIN`, text);
        const { rows: inserted } = await client.query<{ id: number }>(
          `INSERT INTO ${table} (${COPY_COLUMN_LIST}) SELECT ${COPY_COLUMN_LIST} FROM replay_${table}
           ON CONFLICT (job_id, job_created, counter) DO NOTHING RETURNING id`);
        const got = new Set(inserted.map((r) => r.id));
        for (const r of rows) if (got.has(r.id)) stored.push(r); else duplicates++;
      }
    }
    const copyMs = performance.now() - started;
    for (const s of stored) {
      if (s.e.event === 'playbook_on_stats' && s.job.kind.wrapupEvent === 'playbook_on_stats') {
        wrapups.get(s.job.id)!.stats = s.e;
        await applyHostSummaries(client, s.job, s.e);
      }
    }
    await insertDeadLetters(client, ctx.node, dead, mode !== 'fast');
    const jobs = await wrapupJobs(client, [...wrapups.values()]);
    await client.query('COMMIT');
    return { stored, duplicates, dead, jobs, modified, copyMs };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    client.off('error', onClientError);
    // A connection that failed mid-COPY is not reusable: drop it rather than return it.
    client.release(isConnectionError(err) ? (err as Error) : undefined);
    released = true;
    throw err;
  } finally {
    if (!released) {
      client.off('error', onClientError);
      client.release();
    }
  }
}

function copyIn(client: pg.PoolClient, sql: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(pgCopy.from(sql));
    stream.on('error', reject);
    stream.on('finish', () => resolve());
    stream.end(Buffer.from(text, 'utf8'));
  });
}

async function insertOneIsolated(client: pg.PoolClient, table: string, r: StoredEvent, modified: string, stats: EncodeStats):
  Promise<'stored' | 'duplicate' | { error: string }> {
  await client.query('SAVEPOINT one_event');
  try {
    const text = encodeCopyRow(r.e, { id: r.id, modified, jobCreated: r.job.createdIso, hostId: r.hostId }, stats);
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS replay_${table} (LIKE ${table}) ON COMMIT DELETE ROWS`);
    await client.query(`TRUNCATE replay_${table}`);
    await copyIn(client, `COPY replay_${table} (${COPY_COLUMN_LIST}) FROM STDIN`, text);
    const { rowCount } = await client.query(`INSERT INTO ${table} (${COPY_COLUMN_LIST}) SELECT ${COPY_COLUMN_LIST} FROM replay_${table}
      ON CONFLICT (job_id, job_created, counter) DO NOTHING`);
    await client.query('RELEASE SAVEPOINT one_event');
    return rowCount ? 'stored' : 'duplicate';
  } catch (err) {
    if (isConnectionError(err)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT one_event');
    return { error: `Postgres rejected the event: ${(err as Error).message}` };
  }
}

/** How a failed attempt is retried: a code from the server's SQLSTATE classes. */
export type FailureKind = 'duplicate' | 'data' | 'connection';

export function classifyStoreError(err: unknown): FailureKind {
  const code = (err as { code?: unknown }).code;
  if (code === '23505') return 'duplicate';
  // 22 data exception, 23 integrity, 42 syntax/undefined, 54 program limit (row too big).
  if (typeof code === 'string' && /^(22|23|42|54)/.test(code)) return 'data';
  return 'connection';
}

export function isConnectionError(err: unknown): boolean {
  return classifyStoreError(err) === 'connection';
}

export { COPY_COLUMNS };
