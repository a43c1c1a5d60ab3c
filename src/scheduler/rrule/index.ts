import { DAY, formatWall } from './calendar.js';
import { Budget, setWalls } from './expand.js';
import type { RruleSet } from './parse.js';
import { Zone, formatInstant } from './zone.js';

/**
 * Schedules' RRULEs, one implementation for the API (preview, create, update) and the
 * dispatcher (next_run): parse.ts says what is accepted, expand.ts how a rule unfolds,
 * zone.ts how wall times become instants. Every evaluation spends from a step budget and
 * throws RruleError (`budgetExceeded`) instead of running on: the rrule npm package this
 * replaces looped forever on `FREQ=HOURLY;INTERVAL=2;BYHOUR=1` (issue #12).
 */
export { RRULE_MAX_LENGTH, RruleError, parseRrule, type RruleSet } from './parse.js';

/**
 * Steps (periods, candidate days, candidate times) one evaluation may spend. Rules that
 * match nothing ran out of 200 k steps in 5-80 ms on this project's 2-core machine while
 * it ran other test suites (load average 7), 10-30 ms when quieter (`FREQ=HOURLY` with an
 * impossible BYMONTHDAY is the slowest per step: a calendar lookup per skipped day). The
 * sparsest rules people write need far fewer: a leap day (every 4-8 years) about 300, a
 * MINUTELY rule from a DTSTART years back about 3 k (the search starts a day before now).
 */
export const RRULE_STEP_BUDGET = 200_000;

/** Occurrences as instants (seconds), ascending, from the wall time `fromWall` on; gap times are skipped. */
function* instants(set: RruleSet, fromWall: number, budget: Budget): Generator<number> {
  for (const wall of setWalls(set, fromWall, budget)) {
    if (wall < fromWall) continue;
    const instant = set.zone.instantOf(wall);
    if (instant !== null) yield instant;
  }
}

function after(set: RruleSet, when: Date, limit: number, budget: Budget): number[] {
  const afterSeconds = when.getTime() / 1000;
  // An occurrence after `when` can show an earlier wall time only when the offset drops in
  // between (an hour at the end of summer time); a day covers any drop a zone has made.
  const fromWall = set.zone.wallAt(Math.floor(afterSeconds)) - DAY;
  const out: number[] = [];
  if (limit <= 0) return out;
  for (const instant of instants(set, fromWall, budget)) {
    if (instant <= afterSeconds) continue;
    out.push(instant);
    if (out.length >= limit) break;
  }
  return out;
}

function first(set: RruleSet, budget: Budget): number | null {
  for (const instant of instants(set, -Infinity, budget)) return instant;
  return null;
}

/**
 * The last occurrence, or null when a rule has neither COUNT nor UNTIL (AWX's dtend). Rules
 * with UNTIL are searched backwards from it in widening windows (a day, then 32 times
 * more each round), so a MINUTELY rule ending in ten years costs a day of minutes.
 */
function last(set: RruleSet, budget: Budget): number | null {
  if (set.rules.some((r) => r.count === null && r.untilWall === null)) return null;
  const ends = set.rules.map((r) => r.untilWall).filter((w): w is number => w !== null);
  const end = ends.length ? Math.max(...ends) : -Infinity;
  for (let window = DAY; ; window *= 32) {
    const fromWall = end - window;
    const whole = fromWall <= set.dtstartWall;
    let found: number | null = null;
    for (const instant of instants(set, whole ? -Infinity : fromWall, budget)) found = instant;
    if (found !== null || whole) return found;
  }
}

const toDate = (instant: number) => new Date(instant * 1000);

/** The first `limit` occurrences strictly after `when`. */
export function occurrencesAfter(set: RruleSet, when: Date, limit: number, steps = RRULE_STEP_BUDGET): Date[] {
  return after(set, when, limit, new Budget(steps)).map(toDate);
}

export function nextOccurrence(set: RruleSet, when: Date, steps = RRULE_STEP_BUDGET): Date | null {
  return occurrencesAfter(set, when, 1, steps)[0] ?? null;
}

/** AWX's computed fields of a schedule: first and last occurrence and the next one after `now`, on one budget. */
export function scheduleTimes(set: RruleSet, now: Date, steps = RRULE_STEP_BUDGET): { dtstart: Date | null; dtend: Date | null; nextRun: Date | null } {
  const budget = new Budget(steps);
  const start = first(set, budget);
  const end = last(set, budget);
  const next = after(set, now, 1, budget)[0];
  return { dtstart: start === null ? null : toDate(start), dtend: end === null ? null : toDate(end), nextRun: next === undefined ? null : toDate(next) };
}

/** AWX's `schedules/preview/` answer: the next ten occurrences in DTSTART's zone (with offset) and in UTC. */
export function previewOccurrences(set: RruleSet, now: Date, count = 10): { local: string[]; utc: string[] } {
  const found = after(set, now, count, new Budget(RRULE_STEP_BUDGET));
  return { local: found.map((t) => formatInstant(t, set.zone)), utc: found.map((t) => formatInstant(t, Zone.UTC)) };
}

/** AWX's `timezone` field: DTSTART's TZID as written, `UTC` for a `Z` time. */
export function rruleTimezone(set: RruleSet): string {
  return set.zone.name;
}

/** AWX's `until` field: the first RRULE's UNTIL as a naive time in DTSTART's zone, or ''. */
export function rruleUntil(set: RruleSet): string {
  const until = set.rules.find((r) => r.untilWall !== null)?.untilWall;
  return until == null ? '' : formatWall(until);
}
