import type pg from 'pg';
import { runCopyScript } from '../db/copy-script.js';
import { isoUtcSql } from '../db/iso-timestamp.js';
import { COPY_COLUMN_LIST, copyPayload, copyRowPrefix } from './copy-encode.js';
import { insertDeadLetters } from './dead-letters.js';
import type { JobInfo } from './job-cache.js';
import type { BadEvent, ParsedEvent } from './parse-event.js';
import type { PrepareContext, PreparedBatch } from './prepare-batch.js';
import type { IdBlocks } from './id-blocks.js';
import type { RendezvousRow } from './rendezvous.js';
import { applyHostSummaries, type JobWrapupInput, type JobWrapupResult, lockedRows, lockJobsStatement, prepareJobLocks,
  wrapupJobs } from './wrapup.js';

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
 * Ids come from blocks reserved ahead (id-blocks.ts), so the COPY carries them and the
 * broadcast needs no RETURNING; a rolled-back attempt leaves a gap, as serials do. A fast
 * batch is one write and one round trip for BEGIN, every table's COPY with its data and the
 * jobs' row locks (copy-script.ts), then COMMIT; wrapup's bookkeeping (wrapup.ts) adds
 * statements in between only for a job whose stream ends, or whose stats arrived.
 */
export type StoreMode = 'fast' | 'dedup' | 'isolate';

/**
 * An event the batch stored (or found stored): `e.row` is then the row as stored, every
 * column set (for a row found stored, its own id, created and modified).
 */
export interface StoredEvent {
  e: ParsedEvent;
  job: JobInfo;
}

export interface StoreOutcome {
  stored: StoredEvent[];
  /** Events skipped because their (job, counter) was already stored. */
  duplicates: number;
  /**
   * Those rows as stored, to announce again: a row found stored on the dedup path was
   * committed by an attempt that never got to its broadcast (the receiver stopped, or the
   * attempt's reply was lost, between COMMIT and the ack). Live clients may so see an
   * event twice (a producer that pushed it twice), never miss one.
   */
  restored: StoredEvent[];
  dead: BadEvent[];
  jobs: JobWrapupResult[];
  modified: string;
  copyMs: number;
  /** Where the attempt's time went: connect + BEGIN + ids, COPY, wrapup bookkeeping, COMMIT. */
  stageMs: { begin: number; copy: number; wrapup: number; commit: number };
}

export interface StoreContext extends PrepareContext {
  node: string;
  ids: IdBlocks;
}

export async function storeBatch(ctx: StoreContext, batch: PreparedBatch, mode: StoreMode): Promise<StoreOutcome> {
  const dead = batch.dead.slice();
  const wrapups = new Map<number, JobWrapupInput>();
  for (const [id, w] of batch.wrapups) wrapups.set(id, { job: w.job, eofFinalCounter: w.eofFinalCounter, stats: null });
  const t0 = performance.now();
  const client = await ctx.pool.connect();
  // A checked-out client whose server goes away emits 'error' on itself (the pool only
  // guards idle ones); unheard, that kills the process. The failing query rejects too,
  // which is where the retry happens.
  const onClientError = () => {};
  client.on('error', onClientError);
  let released = false;
  try {
    const tables = [...batch.tables];
    const modified = new Date().toISOString();
    const payloads: Buffer[] = [];
    for (const [table, list] of tables) {
      const ids = await ctx.ids.take(client, table, list.length);
      for (let i = 0; i < list.length; i++) {
        const row = list[i].e.row;
        row.id = ids[i];
        row.modified = modified;
        if (list[i].e.flushCreated) row.created = modified;
      }
      if (mode !== 'isolate') payloads.push(copyPayload(list.map((r) => ({ row: r.e.row, body: r.body }))));
    }
    const lockIds = [...wrapups.keys()];
    // Before BEGIN: the statement then outlives whatever becomes of this transaction.
    if (lockIds.length) await prepareJobLocks(client);
    const stored: StoredEvent[] = [];
    const restored: StoredEvent[] = [];
    let duplicates = 0;
    let locked: RendezvousRow[] = [];
    const t1 = performance.now();
    if (mode === 'fast') {
      // One write, one round trip: BEGIN, every table's COPY with its data, the jobs' row locks.
      const statements = ['BEGIN', ...tables.map(([table]) => `COPY ${table} (${COPY_COLUMN_LIST}) FROM STDIN`)];
      if (lockIds.length) statements.push(lockJobsStatement(lockIds));
      const results = await runCopyScript(client, statements.join('; '), payloads);
      if (lockIds.length) locked = lockedRows(results[results.length - 1].rows[0][0]);
      for (const [, list] of tables) for (const r of list) stored.push({ job: r.job, e: r.e });
    } else {
      await client.query('BEGIN');
      for (let t = 0; t < tables.length; t++) {
        const [table, list] = tables[t];
        const rows: StoredEvent[] = list.map((r) => ({ job: r.job, e: r.e }));
        if (mode === 'isolate') {
          for (let i = 0; i < rows.length; i++) {
            const r = rows[i];
            const outcome = await insertOneIsolated(client, table, copyRowPrefix(r.e.row) + list[i].body);
            if (outcome === 'stored') stored.push(r);
            else if (outcome === 'duplicate') duplicates++;
            else dead.push({ ok: false, code: 'store_failed', reason: outcome.error, raw: r.e.raw, jobId: r.e.jobId });
          }
          continue;
        }
        await client.query(`CREATE TEMP TABLE IF NOT EXISTS replay_${table} (LIKE ${table}) ON COMMIT DELETE ROWS`);
        await runCopyScript(client, `COPY replay_${table} (${COPY_COLUMN_LIST}) FROM STDIN`, [payloads[t]]);
        const { rows: inserted } = await client.query<{ id: number }>(
          `INSERT INTO ${table} (${COPY_COLUMN_LIST}) SELECT ${COPY_COLUMN_LIST} FROM replay_${table}
           ON CONFLICT (job_id, job_created, counter) DO NOTHING RETURNING id`);
        const got = new Set(inserted.map((r) => r.id));
        const already: StoredEvent[] = [];
        for (const r of rows) if (got.has(r.e.row.id)) stored.push(r); else already.push(r);
        duplicates += already.length;
        if (already.length) restored.push(...await readStored(client, table, already));
      }
      if (lockIds.length) {
        const { rows: [r] } = await client.query<{ locked: string }>(lockJobsStatement(lockIds));
        locked = lockedRows(r.locked);
      }
    }
    const t2 = performance.now();
    for (const s of stored) {
      if (s.e.row.event === 'playbook_on_stats' && s.job.kind.wrapupEvent === 'playbook_on_stats') {
        wrapups.get(s.job.id)!.stats = s.e;
        if (s.job.kind.hostSummaries) await applyHostSummaries(client, s.job, s.e);
      }
    }
    await insertDeadLetters(client, ctx.node, dead, mode !== 'fast');
    const jobs = await wrapupJobs(client, [...wrapups.values()], locked);
    const t3 = performance.now();
    await client.query('COMMIT');
    const t4 = performance.now();
    return { stored, duplicates, restored, dead, jobs, modified, copyMs: t2 - t1,
      stageMs: { begin: t1 - t0, copy: t2 - t1, wrapup: t3 - t2, commit: t4 - t3 } };
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

/** The stored id, created and modified of rows found already stored, by (job, counter). */
async function readStored(client: pg.PoolClient, table: string, rows: StoredEvent[]): Promise<StoredEvent[]> {
  const { rows: found } = await client.query<{ job_id: number; counter: number; id: number; created: string; modified: string }>(
    `SELECT job_id, counter, id, ${isoUtcSql('created')} AS created, ${isoUtcSql('modified')} AS modified
       FROM ${table} t JOIN unnest($1::bigint[], $2::timestamptz[], $3::int[]) AS k(job_id, job_created, counter)
         USING (job_id, job_created, counter)`,
    [rows.map((r) => r.job.id), rows.map((r) => r.job.createdIso), rows.map((r) => r.e.row.counter)]);
  const byKey = new Map(found.map((f) => [`${f.job_id} ${f.counter}`, f]));
  const out: StoredEvent[] = [];
  for (const r of rows) {
    const f = byKey.get(`${r.job.id} ${r.e.row.counter}`);
    if (!f) continue;
    Object.assign(r.e.row, { id: Number(f.id), created: f.created, modified: f.modified });
    out.push(r);
  }
  return out;
}

async function insertOneIsolated(client: pg.PoolClient, table: string, text: string):
  Promise<'stored' | 'duplicate' | { error: string }> {
  await client.query('SAVEPOINT one_event');
  try {
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS replay_${table} (LIKE ${table}) ON COMMIT DELETE ROWS`);
    await client.query(`TRUNCATE replay_${table}`);
    await runCopyScript(client, `COPY replay_${table} (${COPY_COLUMN_LIST}) FROM STDIN`, [Buffer.from(text, 'utf8')]);
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

