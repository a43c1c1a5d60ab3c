import { encodeCopyRowBody, type EncodeStats } from './copy-encode.js';
import type { JobCache, JobInfo, PartitionCache } from './job-cache.js';
import type { BadEvent, ParsedEvent } from './parse-event.js';
import type { Pool } from '../db/pool.js';

/**
 * Everything a batch needs before its transaction, done while the previous batch's COPY
 * runs (receiver-worker.ts keeps one batch prepared ahead): jobs resolved (cached; a query
 * only for a job not seen before), partitions ensured, rows grouped by event table and
 * encoded up to the flush-time columns (copy-encode.ts `encodeCopyRowBody`).
 *
 * A prepared batch is read-only to storeBatch, so a failed attempt can be retried with it.
 */
export interface PreparedRow {
  job: JobInfo;
  e: ParsedEvent;
  /** COPY text of the columns after `modified` (copy-encode.ts), with the row's newline. */
  body: string;
}

export interface PreparedWrapup {
  job: JobInfo;
  /** Highest final_counter of EOFs for this job in the batch, if any. */
  eofFinalCounter: number | null;
}

export interface PreparedBatch {
  /** Event table → its rows, in batch order. */
  tables: Map<string, PreparedRow[]>;
  /** Every job with an event (or EOF) in the batch: wrapup bookkeeping runs for each. */
  wrapups: Map<number, PreparedWrapup>;
  /** Events that cannot be stored (bad input or an unknown job), kept for dead letters. */
  dead: BadEvent[];
  /** Items the batch came from (its processing list's length). */
  size: number;
}

export interface PrepareContext {
  pool: Pool;
  jobs: JobCache;
  partitions: PartitionCache;
  encodeStats: EncodeStats;
}

export async function prepareBatch(ctx: PrepareContext, items: (ParsedEvent | BadEvent)[]): Promise<PreparedBatch> {
  const dead: BadEvent[] = [];
  const good: ParsedEvent[] = [];
  for (const it of items) {
    if (it.ok) good.push(it); else dead.push(it);
  }
  const known = await ctx.jobs.resolve(ctx.pool, good.map((e) => e.jobId));
  const tables = new Map<string, PreparedRow[]>();
  const wrapups = new Map<number, PreparedWrapup>();
  for (const e of good) {
    const job = known.get(e.jobId);
    if (!job || job.kind !== e.kind) {
      dead.push({ ok: false, code: 'unknown_job', reason: job ? `job ${e.jobId} is a ${job.kind.kind}, not a ${e.kind.kind}`
        : `no ${e.kind.kind} with id ${e.jobId}`, raw: e.raw, jobId: e.jobId });
      continue;
    }
    let w = wrapups.get(job.id);
    if (!w) wrapups.set(job.id, w = { job, eofFinalCounter: null });
    if (e.isEof) {
      w.eofFinalCounter = Math.max(w.eofFinalCounter ?? 0, e.finalCounter);
      continue;
    }
    let list = tables.get(job.kind.eventTable);
    if (!list) tables.set(job.kind.eventTable, list = []);
    const row = e.row;
    row.job_created = job.createdIso;
    row.host_id = row.host_name ? job.hostMap.get(row.host_name) ?? null : null;
    list.push({ job, e, body: encodeCopyRowBody(row, ctx.encodeStats) });
  }
  for (const w of wrapups.values()) await ctx.partitions.ensure(ctx.pool, w.job.createdIso);
  return { tables, wrapups, dead, size: items.length };
}
