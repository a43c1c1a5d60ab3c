import type { Redis } from 'ioredis';
import type pg from 'pg';
import rrulePackage from 'rrule';
import { withTransaction } from '../db/pool.js';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { publishBroadcast } from '../pipeline/broadcast.js';
import { redisKeys } from '../redis-keys.js';
import { launchUnifiedJobTemplate } from './launch.js';

// rrule is CommonJS: its named exports are not visible to Node's ESM loader.
const { rrulestr } = rrulePackage;

/**
 * Schedules: an RRULE string in AWX's accepted subset, `next_run` kept current, and a
 * periodic pass that launches each due occurrence exactly once however many dispatcher nodes
 * run it: the due row is locked FOR UPDATE SKIP LOCKED, the job is submitted and next_run
 * advanced past now in the same transaction, so a second node either skips the locked row
 * or, after the commit, sees next_run in the future.
 *
 * AWX's subset: `DTSTART` required (UTC `Z` or `;TZID=`), one or more RRULE lines, no
 * SECONDLY, no BYSECOND/BYEASTER/BYWEEKNO, COUNT at most 999, and each rule's FREQ set.
 */
export function parseSchedule(text: string): { rule: ReturnType<typeof rrulestr> } {
  const s = text.trim();
  if (!/DTSTART[:;]/i.test(s)) throw new PlaystreamError('PS_ERR_RRULE', 'DTSTART is required');
  if (!/RRULE:/i.test(s)) throw new PlaystreamError('PS_ERR_RRULE', 'an RRULE is required');
  if (/FREQ=SECONDLY/i.test(s)) throw new PlaystreamError('PS_ERR_RRULE', 'SECONDLY is not supported');
  for (const bad of ['BYSECOND', 'BYEASTER', 'BYWEEKNO']) {
    if (new RegExp(`${bad}=`, 'i').test(s)) throw new PlaystreamError('PS_ERR_RRULE', `${bad} is not supported`);
  }
  for (const line of s.split(/\s+/).filter((l) => /^RRULE:/i.test(l))) {
    if (!/FREQ=/i.test(line)) throw new PlaystreamError('PS_ERR_RRULE', 'every RRULE needs FREQ');
    const count = /COUNT=(\d+)/i.exec(line);
    if (count && Number(count[1]) > 999) throw new PlaystreamError('PS_ERR_RRULE', 'COUNT may not exceed 999');
  }
  try {
    return { rule: rrulestr(s, { forceset: true }) };
  } catch (err) {
    throw new PlaystreamError('PS_ERR_RRULE', `not a valid rrule: ${(err as Error).message}`, { cause: err });
  }
}

export function nextRun(rrule: string, after: Date): Date | null {
  return parseSchedule(rrule).rule.after(after, false);
}

/** Recomputes next_run for a schedule (after create/update). */
export async function refreshNextRun(db: Pick<pg.Pool, 'query'>, scheduleId: number, now = new Date()): Promise<Date | null> {
  const { rows: [s] } = await db.query<{ rrule: string }>('SELECT rrule FROM schedules WHERE id = $1', [scheduleId]);
  if (!s) return null;
  const next = nextRun(s.rrule, now);
  await db.query('UPDATE schedules SET next_run = $2, modified = now() WHERE id = $1', [scheduleId, next]);
  return next;
}

/** Launches every due schedule once; returns the ids of the jobs launched. */
export async function runDueSchedules(pool: pg.Pool, redis: Redis | undefined, config: { redisPrefix: string; callbackQueue: string },
  now = new Date()): Promise<number[]> {
  const launched: number[] = [];
  const changed: number[] = [];
  for (;;) {
    const done = await withTransaction(pool, async (db) => {
      const { rows: [s] } = await db.query<{ id: number; rrule: string; unified_job_template_id: number; extra_data: Record<string, unknown> }>(
        `SELECT id, rrule, unified_job_template_id, extra_data FROM schedules
          WHERE enabled AND next_run <= $1 ORDER BY next_run LIMIT 1 FOR UPDATE SKIP LOCKED`, [now]);
      if (!s) return true;
      let next: Date | null = null;
      try {
        next = nextRun(s.rrule, now);
        const extra = s.extra_data && Object.keys(s.extra_data).length ? { extra_vars: s.extra_data } : {};
        launched.push(await launchUnifiedJobTemplate(db, s.unified_job_template_id,
          { launchType: 'scheduled', scheduleId: s.id, overrides: extra }));
      } catch (err) {
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
