import type { Redis } from 'ioredis';
import type pg from 'pg';
import { withTransaction } from '../db/pool.js';
import { isWholeNumber, readSetting } from '../db/settings.js';
import { log } from '../log.js';
import { publishBroadcast } from '../pipeline/broadcast.js';
import { redisKeys } from '../redis-keys.js';
import type { SecretBox } from '../security/secrets.js';
import { launchUnifiedJobTemplate } from './launch.js';
import { RRULE_STEP_BUDGET, RruleError, nextOccurrence, parseRrule } from './rrule/index.js';
import { scheduledLaunchOverrides, type SchedulePrompts } from './schedule-prompts.js';

/**
 * Schedules: an RRULE string in AWX's accepted form (rrule/parse.ts), `next_run` kept current,
 * and a periodic pass that launches each due occurrence exactly once however many dispatcher
 * nodes run it: the due row is locked FOR UPDATE SKIP LOCKED, the job is submitted and
 * next_run advanced past now in the same transaction, so a second node either skips the
 * locked row or, after the commit, sees next_run in the future.
 *
 * The API refuses rules it cannot evaluate, but a stored rule may predate that check or be
 * written straight into the table. Each evaluation here spends at most
 * SCHEDULER_RRULE_BUDGET steps (tens of milliseconds), and a rule that is refused or runs out is
 * disabled with next_run NULL and a warning, so it costs the pass once, not every pass.
 */

/**
 * Twice the API's budget: a rule the API accepted at create time must not be disabled here
 * because the search from "now" grew a little (a COUNT rule walks from its DTSTART).
 */
export const SCHEDULER_RRULE_BUDGET = 2 * RRULE_STEP_BUDGET;

/** The next occurrence of a stored rule strictly after `after`; throws RruleError. */
export function nextRun(rrule: string, after: Date): Date | null {
  return nextOccurrence(parseRrule(rrule), after, SCHEDULER_RRULE_BUDGET);
}

/** Turns off a schedule whose rule cannot be evaluated, saying why. */
async function disableSchedule(db: Pick<pg.Pool, 'query'>, scheduleId: number, err: RruleError): Promise<void> {
  log.warn('schedule disabled: its rrule cannot be evaluated', { schedule: scheduleId, reason: err.problems.join(' ') });
  await db.query('UPDATE schedules SET enabled = false, next_run = NULL, modified = now() WHERE id = $1', [scheduleId]);
}

/** Recomputes next_run for a schedule; a rule that cannot be evaluated disables it (null). */
export async function refreshNextRun(db: Pick<pg.Pool, 'query'>, scheduleId: number, now = new Date()): Promise<Date | null> {
  const { rows: [s] } = await db.query<{ rrule: string }>('SELECT rrule FROM schedules WHERE id = $1', [scheduleId]);
  if (!s) return null;
  let next: Date | null;
  try {
    next = nextRun(s.rrule, now);
  } catch (err) {
    if (!(err instanceof RruleError)) throw err;
    await disableSchedule(db, scheduleId, err);
    return null;
  }
  await db.query('UPDATE schedules SET next_run = $2, modified = now() WHERE id = $1', [scheduleId, next]);
  return next;
}

/**
 * AWX's JobTemplate.cache_timeout_blocked: a job template with SCHEDULE_MAX_JOBS (10) of its
 * jobs pending, waiting or running gets no more from its schedules; the occurrence is skipped
 * (next_run still advances) with a warning, so a template that cannot keep up does not pile
 * up a queue of its own.
 */
async function templateBlocked(db: Pick<pg.Pool, 'query'>, templateId: number): Promise<boolean> {
  const max = await readSetting(db, 'SCHEDULE_MAX_JOBS', 10, isWholeNumber);
  const { rows: [r] } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM unified_jobs WHERE kind = 'job' AND unified_job_template_id = $1
        AND status IN ('pending', 'waiting', 'running') LIMIT $2) x`, [templateId, Math.max(0, max) + 1]);
  if (r.n < max) return false;
  log.warn('schedule skipped: its job template has too many jobs waiting to run', { template: templateId, waiting: r.n, SCHEDULE_MAX_JOBS: max });
  return true;
}

/**
 * Launches every due schedule once; returns the ids of the jobs launched. `secrets` seals
 * survey password answers in the launched job (survey-secrets.ts), as an API launch does.
 */
export async function runDueSchedules(pool: pg.Pool, redis: Redis | undefined, config: { redisPrefix: string; callbackQueue: string },
  now = new Date(), secrets?: SecretBox): Promise<number[]> {
  const launched: number[] = [];
  const changed: number[] = [];
  for (;;) {
    const done = await withTransaction(pool, async (db) => {
      const { rows: [s] } = await db.query<{ id: number; rrule: string; unified_job_template_id: number; extra_data: Record<string, unknown>;
        launch_prompts: SchedulePrompts }>(
        `SELECT id, rrule, unified_job_template_id, extra_data, launch_prompts FROM schedules
          WHERE enabled AND next_run <= $1 ORDER BY next_run LIMIT 1 FOR UPDATE SKIP LOCKED`, [now]);
      if (!s) return true;
      let next: Date | null;
      try {
        next = nextRun(s.rrule, now);
      } catch (err) {
        if (!(err instanceof RruleError)) throw err;
        await disableSchedule(db, s.id, err);
        changed.push(s.id);
        return false;
      }
      if (await templateBlocked(db, s.unified_job_template_id)) {
        await db.query('UPDATE schedules SET next_run = $2, modified = now() WHERE id = $1', [s.id, next]);
        changed.push(s.id);
        return false;
      }
      // A failed launch must not abort the transaction that advances next_run, or the same
      // occurrence would be retried (and fail) on every pass.
      await db.query('SAVEPOINT schedule_launch');
      try {
        launched.push(await launchUnifiedJobTemplate(db, s.unified_job_template_id,
          { launchType: 'scheduled', scheduleId: s.id, overrides: await scheduledLaunchOverrides(db, s), secrets }));
        await db.query('RELEASE SAVEPOINT schedule_launch');
      } catch (err) {
        await db.query('ROLLBACK TO SAVEPOINT schedule_launch');
        log.warn('schedule launch failed', { schedule: s.id, err });
      }
      await db.query('UPDATE schedules SET next_run = $2, modified = now() WHERE id = $1', [s.id, next]);
      changed.push(s.id);
      return false;
    });
    if (done) break;
  }
  if (changed.length && redis) {
    await publishBroadcast(redis, redisKeys(config).broadcastChannel, { group: 'schedules-changed',
      messages: changed.map((id) => ({ group_name: 'schedules', schedule_id: id, type: 'schedule' })) }).catch(() => {});
  }
  return launched;
}
