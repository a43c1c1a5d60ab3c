import { DAY, LAST_YEAR, civilDate, dayNumber, monthLength, weekday, yearLength, yearStart } from './calendar.js';
import { RruleError, type Rule, type RruleSet } from './parse.js';

/**
 * Expansion of one rule into ascending wall times, and of a set (RRULEs minus EXRULEs) by
 * merging them. The semantics are dateutil's, which AWX runs:
 *
 * - a rule walks periods of its FREQ (a year, a month, a week starting on WKST, a day, an
 *   hour, a minute) from DTSTART's, INTERVAL apart;
 * - every BYxxx is a filter on the candidate days and times of a period: with a period of a
 *   year and BYMONTH=2 that "expands" to February's days, with a period of a day it
 *   "limits" -- one rule for both;
 * - what the rule leaves open comes from DTSTART (YEARLY: its month and day, MONTHLY: its
 *   day, WEEKLY: its weekday, and its hour/minute/second below the FREQ);
 * - BYSETPOS picks positions in one period's sorted candidates; then candidates before
 *   DTSTART are dropped (DTSTART itself counts only when the rule matches it), UNTIL ends
 *   the rule (inclusive) and COUNT counts what is left.
 *
 * Nothing here can run unbounded: every period, candidate day and candidate time spends a
 * step of a Budget, which throws RruleError when empty. Rules without COUNT start at the
 * period holding `fromWall` (they need not be walked from DTSTART); HOURLY and MINUTELY
 * rules jump over whole days (and hours) their day filters refuse, so "every minute on
 * Mondays" costs a few steps per day, not 1440.
 */
export class Budget {
  #left: number;
  readonly steps: number;
  constructor(steps: number) {
    this.steps = steps;
    this.#left = steps;
  }

  spend(n = 1): void {
    this.#left -= n;
    if (this.#left < 0) {
      throw new RruleError([`rrule evaluation needs more than ${this.steps} steps; the rule matches too rarely to schedule`], { budgetExceeded: true });
    }
  }
}

/** No occurrence after the end of year 9999 (dateutil's datetime.MAXYEAR). */
const END_WALL = dayNumber(LAST_YEAR + 1, 1, 1) * DAY;

/** A rule with DTSTART's defaults filled in, in the shapes the loops want. */
interface Plan {
  rule: Rule;
  dtstartWall: number;
  untilWall: number;
  months: Set<number> | null;
  monthList: number[];
  monthDays: Set<number> | null;
  yearDays: Set<number> | null;
  weekdays: Set<number> | null;
  ordinals: { weekday: number; nth: number }[] | null;
  /** BYDAY ordinals count within the month (MONTHLY, or YEARLY with BYMONTH), else within the year. */
  ordinalsInMonth: boolean;
  hours: number[];
  minutes: number[];
  seconds: number[];
}

function plan(rule: Rule, dtstartWall: number): Plan {
  const day0 = Math.floor(dtstartWall / DAY);
  const sod = dtstartWall - day0 * DAY;
  const { m: m0, d: d0 } = civilDate(day0);
  const noDaySpec = !rule.byMonthDay && !rule.byYearDay && !rule.byDay;
  let byMonth = rule.byMonth;
  let byMonthDay = rule.byMonthDay;
  let byDay = rule.byDay;
  if (rule.freq === 'YEARLY' && noDaySpec) {
    byMonth ??= [m0];
    byMonthDay = [d0];
  } else if (rule.freq === 'MONTHLY' && noDaySpec) {
    byMonthDay = [d0];
  } else if (rule.freq === 'WEEKLY' && noDaySpec) {
    byDay = [{ weekday: weekday(day0), nth: 0 }];
  }
  const coarse = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY'].includes(rule.freq);
  const plain = byDay?.filter((b) => b.nth === 0) ?? [];
  const ordinals = byDay?.filter((b) => b.nth !== 0) ?? [];
  return {
    rule, dtstartWall,
    untilWall: Math.min(rule.untilWall ?? Infinity, END_WALL - 1),
    months: byMonth ? new Set(byMonth) : null,
    monthList: byMonth ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    monthDays: byMonthDay ? new Set(byMonthDay) : null,
    yearDays: rule.byYearDay ? new Set(rule.byYearDay) : null,
    weekdays: byDay ? new Set(plain.map((b) => b.weekday)) : null,
    ordinals: ordinals.length ? ordinals : null,
    ordinalsInMonth: rule.freq === 'MONTHLY' || !!rule.byMonth,
    // HOURLY and MINUTELY take the hour (minute) from the period; BYHOUR (BYMINUTE) filters it.
    hours: coarse ? rule.byHour ?? [Math.floor(sod / 3600)] : [],
    minutes: rule.freq !== 'MINUTELY' ? rule.byMinute ?? [Math.floor((sod % 3600) / 60)] : [],
    seconds: rule.bySecond ?? [sod % 60],
  };
}

/** Whether a day passes the rule's day filters. */
function dayMatches(p: Plan, day: number, y: number, m: number, d: number): boolean {
  if (p.months && !p.months.has(m)) return false;
  const monthLen = monthLength(y, m);
  if (p.monthDays && !p.monthDays.has(d) && !p.monthDays.has(d - monthLen - 1)) return false;
  const needYear = p.yearDays || (p.ordinals && !p.ordinalsInMonth);
  const yearDay = needYear ? day - yearStart(y) + 1 : 0;
  const yearLen = needYear ? yearLength(y) : 0;
  if (p.yearDays && !p.yearDays.has(yearDay) && !p.yearDays.has(yearDay - yearLen - 1)) return false;
  if (!p.weekdays) return true;
  const wd = weekday(day);
  if (p.weekdays.has(wd)) return true;
  if (!p.ordinals) return false;
  const [index, length] = p.ordinalsInMonth ? [d, monthLen] : [yearDay, yearLen];
  const fromStart = Math.floor((index - 1) / 7) + 1;
  const fromEnd = -(Math.floor((length - index) / 7) + 1);
  return p.ordinals.some((o) => o.weekday === wd && (o.nth === fromStart || o.nth === fromEnd));
}

/** Appends the matching days of `count` consecutive days from `first` to `out`. */
function addMatchingDays(p: Plan, first: number, count: number, budget: Budget, out: number[]): number[] {
  budget.spend(count);
  let { y, m, d } = civilDate(first);
  let monthLen = monthLength(y, m);
  for (let day = first; day < first + count; day++) {
    if (dayMatches(p, day, y, m, d)) out.push(day);
    if (++d > monthLen) { d = 1; if (++m > 12) { m = 1; y++; } monthLen = monthLength(y, m); }
  }
  return out;
}

/** BYSETPOS: positions (1 first, -1 last) in one period's candidates, ascending and distinct. */
function pickPositions(all: number[], positions: number[]): number[] {
  const picked = new Set<number>();
  for (const pos of positions) {
    const i = pos > 0 ? pos - 1 : all.length + pos;
    if (i >= 0 && i < all.length) picked.add(all[i]);
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * One period: its first wall time (to stop at UNTIL), its matching days and the hours and
 * minutes of its time grid (the seconds are the plan's).
 */
interface Period { start: number; days: number[]; hours: number[]; minutes: number[] }

/**
 * The periods of a rule from index `k0` on that hold candidates, until UNTIL or year 9999.
 * Each period spends a step, and each day it examines one more. HOURLY and MINUTELY
 * periods that a day (or hour) filter refuses are skipped by jumping the index to the next
 * day (hour).
 */
function* periods(p: Plan, k0: number, budget: Budget): Generator<Period> {
  const { freq, interval } = p.rule;
  const day0 = Math.floor(p.dtstartWall / DAY);
  const { y: y0, m: m0 } = civilDate(day0);
  const { hours, minutes } = p;
  const ended = (start: number) => start >= END_WALL || start > p.untilWall;
  switch (freq) {
    case 'YEARLY':
      for (let k = k0; ; k++) {
        const y = y0 + k * interval;
        if (y > LAST_YEAR || ended(yearStart(y) * DAY)) return;
        const days: number[] = [];
        budget.spend();
        for (const m of p.monthList) addMatchingDays(p, dayNumber(y, m, 1), monthLength(y, m), budget, days);
        if (days.length) yield { start: yearStart(y) * DAY, days, hours, minutes };
      }
    case 'MONTHLY':
      for (let k = k0; ; k++) {
        const index = (y0 * 12 + m0 - 1) + k * interval;
        const y = Math.floor(index / 12);
        const m = index - y * 12 + 1;
        const first = dayNumber(y, m, 1);
        if (y > LAST_YEAR || ended(first * DAY)) return;
        budget.spend();
        if (p.months && !p.months.has(m)) continue;
        const days = addMatchingDays(p, first, monthLength(y, m), budget, []);
        if (days.length) yield { start: first * DAY, days, hours, minutes };
      }
    case 'WEEKLY': {
      const week0 = day0 - ((weekday(day0) - p.rule.wkst + 7) % 7);
      for (let k = k0; ; k++) {
        // dateutil's first week runs from DTSTART's day, not from WKST: it matters to BYSETPOS.
        const first = k === 0 ? day0 : week0 + k * 7 * interval;
        if (ended(first * DAY)) return;
        budget.spend();
        const days = addMatchingDays(p, first, week0 + k * 7 * interval + 7 - first, budget, []);
        if (days.length) yield { start: first * DAY, days, hours, minutes };
      }
    }
    case 'DAILY':
      for (let k = k0; ; k++) {
        const day = day0 + k * interval;
        if (ended(day * DAY)) return;
        budget.spend();
        const days = addMatchingDays(p, day, 1, budget, []);
        if (days.length) yield { start: day * DAY, days, hours, minutes };
      }
    case 'HOURLY':
    case 'MINUTELY': {
      // The period index counts units (hours or minutes) of wall time since day 0.
      const unit = freq === 'HOURLY' ? 3600 : 60;
      const base = Math.floor(p.dtstartWall / unit);
      const byHour = p.rule.byHour ? new Set(p.rule.byHour) : null;
      const byMinute = p.rule.byMinute ? new Set(p.rule.byMinute) : null;
      /** The first index at or after a wall time. */
      const indexAt = (wall: number) => Math.max(0, Math.ceil((wall / unit - base) / interval));
      let k = k0;
      let checkedDay = NaN;
      for (;;) {
        budget.spend();
        const start = (base + k * interval) * unit;
        if (ended(start)) return;
        const day = Math.floor(start / DAY);
        if (day !== checkedDay) {
          const { y, m, d } = civilDate(day);
          if (!dayMatches(p, day, y, m, d)) { k = Math.max(k + 1, indexAt((day + 1) * DAY)); continue; }
          checkedDay = day;
        }
        const sod = start - day * DAY;
        const hour = Math.floor(sod / 3600);
        if (byHour && !byHour.has(hour)) { k = Math.max(k + 1, indexAt(day * DAY + (hour + 1) * 3600)); continue; }
        const minute = Math.floor((sod % 3600) / 60);
        if (freq === 'MINUTELY' && byMinute && !byMinute.has(minute)) { k++; continue; }
        yield { start, days: [day], hours: [hour], minutes: freq === 'MINUTELY' ? [minute] : minutes };
        k++;
      }
    }
  }
}

/** The index of the period holding a wall time (0 when before DTSTART's). */
function periodIndexAt(p: Plan, wall: number): number {
  const { freq, interval, wkst } = p.rule;
  const day0 = Math.floor(p.dtstartWall / DAY);
  const day = Math.floor(wall / DAY);
  const c0 = civilDate(day0);
  const c = civilDate(day);
  let units: number;
  switch (freq) {
    case 'YEARLY': units = c.y - c0.y; break;
    case 'MONTHLY': units = (c.y * 12 + c.m) - (c0.y * 12 + c0.m); break;
    case 'WEEKLY': units = Math.floor((day - (day0 - ((weekday(day0) - wkst + 7) % 7))) / 7); break;
    case 'DAILY': units = day - day0; break;
    case 'HOURLY': units = Math.floor(wall / 3600) - Math.floor(p.dtstartWall / 3600); break;
    case 'MINUTELY': units = Math.floor(wall / 60) - Math.floor(p.dtstartWall / 60); break;
  }
  return Math.max(0, Math.floor(units / interval));
}

/** A rule's occurrences as ascending wall times; rules without COUNT may start near `fromWall`. */
export function* ruleWalls(rule: Rule, dtstartWall: number, fromWall: number, budget: Budget): Generator<number> {
  const p = plan(rule, dtstartWall);
  const k0 = rule.count === null && fromWall > dtstartWall ? periodIndexAt(p, fromWall) : 0;
  let emitted = 0;
  for (const period of periods(p, k0, budget)) {
    let walls: Iterable<number> = timeGrid(p, period, budget);
    if (rule.bySetPos) walls = pickPositions([...walls], rule.bySetPos);
    for (const wall of walls) {
      if (wall > p.untilWall) return;
      if (wall < dtstartWall) continue;
      yield wall;
      if (rule.count !== null && ++emitted >= rule.count) return;
    }
  }
}

/** A period's candidate wall times, ascending: its days times its hours, minutes and seconds. */
function* timeGrid(p: Plan, period: Period, budget: Budget): Generator<number> {
  for (const day of period.days) {
    for (const h of period.hours) {
      for (const mi of period.minutes) {
        budget.spend(p.seconds.length);
        for (const s of p.seconds) yield day * DAY + h * 3600 + mi * 60 + s;
      }
    }
  }
}

/** The set's occurrences as ascending, distinct wall times: the RRULEs' union minus the EXRULEs'. */
export function* setWalls(set: RruleSet, fromWall: number, budget: Budget): Generator<number> {
  const cursor = (rule: Rule) => {
    const it = ruleWalls(rule, set.dtstartWall, fromWall, budget);
    const c = { value: 0, advance: () => { const r = it.next(); c.value = r.done ? Infinity : r.value; } };
    c.advance();
    return c;
  };
  const includes = set.rules.map(cursor);
  const excludes = set.exrules.map(cursor);
  for (;;) {
    let next = Infinity;
    for (const c of includes) if (c.value < next) next = c.value;
    if (next === Infinity) return;
    for (const c of includes) if (c.value === next) c.advance();
    let excluded = false;
    for (const c of excludes) {
      while (c.value < next) c.advance();
      if (c.value === next) excluded = true;
    }
    if (!excluded) yield next;
  }
}
