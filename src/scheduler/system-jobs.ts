import { EVENT_TABLES, partitionHour } from '../db/event-partitions.js';
import type { EventPusher } from './event-push.js';
import { parseVars } from './vars.js';
import type { JobContext, JobRow, KindResult } from './job-context.js';
import { SyntheticEvents } from './synthetic-events.js';

/**
 * System jobs (AWX's management jobs), `days` from extra_vars (default 90):
 * - cleanup_jobs: deletes unified jobs finished more than `days` ago, then drops every
 *   event partition wholly older than the cutoff (retention is DROP TABLE, never a
 *   row-by-row DELETE of events);
 * - cleanup_activitystream: deletes activity stream entries older than `days`;
 * - cleanup_sessions: deletes expired browser sessions (AWX's cleanup_sessions);
 * - cleanup_tokens: deletes expired API tokens (AWX's cleartokens).
 */
export async function runSystemJob(ctx: JobContext, job: JobRow, pusher: EventPusher): Promise<KindResult> {
  const ev = new SyntheticEvents(pusher);
  const days = Number(parseVars(job.extra_vars).days ?? 90);
  if (!Number.isFinite(days) || days < 0) return { final: { status: 'failed', jobExplanation: 'days must be a number ≥ 0' } };
  const cutoff = new Date(Date.now() - days * 86_400_000);
  if (job.job_type === 'cleanup_jobs') {
    const { rowCount } = await ctx.pool.query(
      `DELETE FROM unified_jobs WHERE finished < $1 AND status IN ('successful', 'failed', 'error', 'canceled') AND id <> $2`,
      [cutoff, job.id]);
    const dropped = await dropEventPartitionsBefore(ctx, cutoff);
    ev.emit('verbose', `Removed ${rowCount ?? 0} jobs finished before ${cutoff.toISOString()}; dropped ${dropped.length} event partitions`);
  } else if (job.job_type === 'cleanup_activitystream') {
    const { rowCount } = await ctx.pool.query('DELETE FROM activity_stream WHERE "timestamp" < $1', [cutoff]);
    ev.emit('verbose', `Removed ${rowCount ?? 0} activity stream entries before ${cutoff.toISOString()}`);
  } else if (job.job_type === 'cleanup_sessions') {
    const { rowCount } = await ctx.pool.query('DELETE FROM api_sessions WHERE expires <= now()');
    ev.emit('verbose', `Removed ${rowCount ?? 0} expired sessions`);
  } else if (job.job_type === 'cleanup_tokens') {
    const { rowCount } = await ctx.pool.query('DELETE FROM api_tokens WHERE expires <= now()');
    // Unused authorization codes past their 600 s go too (AWX's cleartokens clears expired grants).
    const grants = await ctx.pool.query('DELETE FROM oauth2_grants WHERE expires <= now()');
    ev.emit('verbose', `Removed ${rowCount ?? 0} expired tokens and ${grants.rowCount ?? 0} expired authorization codes`);
  } else {
    return { final: { status: 'error', jobExplanation: `unknown system job type ${job.job_type}` } };
  }
  return { final: { status: 'successful' } };
}

/** Drops hourly partitions (…_YYYYMMDD_HH) whose whole hour ends before the cutoff. */
async function dropEventPartitionsBefore(ctx: JobContext, cutoff: Date): Promise<string[]> {
  const { rows } = await ctx.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = ANY($1)`, [EVENT_TABLES]);
  const dropped: string[] = [];
  for (const { name } of rows) {
    const hour = partitionHour(name);
    if (!hour) continue;
    if (hour.getTime() + 3_600_000 <= cutoff.getTime()) {
      await ctx.pool.query(`DROP TABLE IF EXISTS "${name}"`);
      dropped.push(name);
    }
  }
  return dropped;
}
