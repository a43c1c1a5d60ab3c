import { PlaystreamError } from '../../errors.js';
import { DAY, WEEKDAYS, monthLength, wallOfFields } from './calendar.js';
import { Zone, zoneNamed } from './zone.js';

/**
 * AWX's rrule strings: `DTSTART:20300101T090000Z RRULE:...` or
 * `DTSTART;TZID=America/New_York:20300101T090000 RRULE:... EXRULE:...`, whitespace between
 * the lines. What AWX refuses we refuse with its words (awx/api/serializers.py
 * SchedulePreviewSerializer.validate_rrule and Schedule.rrulestr), all problems at once:
 *
 * - exactly one DTSTART, in UTC (`Z`) or with a TZID Intl knows; a naive one is refused;
 * - at least one RRULE; EXRULE lines subtract; EXDATE and RDATE are refused;
 * - every rule has FREQ and INTERVAL; no SECONDLY; not both COUNT and UNTIL; COUNT <= 999;
 * - a naive UNTIL is read in DTSTART's zone (AWX's coerce_naive_until).
 *
 * Where AWX leaves a case to dateutil we follow RFC 5545 and dateutil: a BYDAY ordinal
 * (`1MO`, `-1FR`) only with MONTHLY or YEARLY, values in range, and an HOURLY/MINUTELY
 * rule whose INTERVAL can never land on its BYHOUR/BYMINUTE refused up front (dateutil's
 * "byxxx generates an empty set"). AWX's own check refuses a BYDAY list that *starts*
 * with a positive ordinal and lets `-1FR` or `MO,2TU` through; we accept ordinals wherever
 * RFC 5545 gives them a meaning. BYWEEKNO and BYEASTER are refused (not implemented).
 *
 * Parsing is linear in the text and evaluates nothing: permission checks may run after it.
 */
export type Freq = 'YEARLY' | 'MONTHLY' | 'WEEKLY' | 'DAILY' | 'HOURLY' | 'MINUTELY';
const FREQS: readonly Freq[] = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY', 'HOURLY', 'MINUTELY'];

/** A BYDAY entry: weekday 0 (MO) .. 6 (SU), `nth` 0 for every such weekday. */
export interface ByDay { weekday: number; nth: number }

export interface Rule {
  /** The line as written, for messages. */
  text: string;
  freq: Freq;
  interval: number;
  count: number | null;
  /** UNTIL as a wall time in DTSTART's zone (inclusive). */
  untilWall: number | null;
  wkst: number;
  byMonth: number[] | null;
  byMonthDay: number[] | null;
  byYearDay: number[] | null;
  byDay: ByDay[] | null;
  byHour: number[] | null;
  byMinute: number[] | null;
  bySecond: number[] | null;
  bySetPos: number[] | null;
}

export interface RruleSet {
  zone: Zone;
  dtstartWall: number;
  rules: Rule[];
  exrules: Rule[];
}

/** Longer texts are refused before any work: the awx.awx lookups write a few hundred characters. */
export const RRULE_MAX_LENGTH = 4096;

/**
 * An rrule that cannot be accepted (`problems`, AWX's messages) or whose expansion ran out
 * of its step budget (`budgetExceeded`). Code PS_ERR_RRULE either way.
 */
export class RruleError extends PlaystreamError {
  readonly problems: string[];
  readonly budgetExceeded: boolean;
  constructor(problems: string[], options: { budgetExceeded?: boolean } = {}) {
    super('PS_ERR_RRULE', problems.join(' '));
    this.problems = problems;
    this.budgetExceeded = options.budgetExceeded ?? false;
  }
}

const MSG = {
  dtstartRequired: 'Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ',
  naive: 'DTSTART cannot be a naive datetime.  Specify ;TZINFO= or YYYYMMDDTHHMMSSZZ.',
  multipleDtstart: 'Multiple DTSTART is not supported.',
  ruleRequired: 'One or more rule required in rrule.',
  tzid: 'A valid TZID must be provided (e.g., America/New_York)',
  failed: (why: string) => `rrule parsing failed validation: ${why}`,
};

interface Part { key: string; value: string }

const DATE_TIME = /^(\d{8})(?:T(\d{4}|\d{6}))?(Z?)$/;

/** Parses and validates; throws RruleError listing every problem found. */
export function parseRrule(text: unknown): RruleSet {
  if (typeof text !== 'string' || text.trim() === '') throw new RruleError(['This field may not be blank.']);
  if (text.length > RRULE_MAX_LENGTH) throw new RruleError([`Ensure this field has no more than ${RRULE_MAX_LENGTH} characters.`]);
  const problems: string[] = [];
  const lines = text.trim().split(/\s+/);
  const dtstarts = lines.filter((l) => /^DTSTART[;:]/i.test(l));
  const ruleLines = lines.filter((l) => /^(RRULE|EXRULE):/i.test(l));

  let zone: Zone | null = null;
  let dtstartWall = 0;
  if (dtstarts.length === 0) problems.push(MSG.dtstartRequired);
  else if (dtstarts.length > 1) problems.push(MSG.multipleDtstart);
  else ({ zone, dtstartWall } = parseDtstart(dtstarts[0], problems));
  if (!ruleLines.some((l) => /^RRULE:/i.test(l))) problems.push(MSG.ruleRequired);
  for (const line of lines) {
    const name = /^[^:;]*/.exec(line)![0].toUpperCase();
    if (name === 'DTSTART' || name === 'RRULE' || name === 'EXRULE') continue;
    if (name === 'EXDATE' || name === 'RDATE') problems.push(`${name} not allowed in rrule.`);
    else problems.push(MSG.failed(`unsupported property: ${line.slice(0, 40)}`));
  }

  const rules: Rule[] = [];
  const exrules: Rule[] = [];
  for (const line of ruleLines) {
    const rule = parseRule(line, zone, problems);
    if (!rule) continue;
    if (zone) checkReachable(rule, dtstartWall, problems);
    (/^RRULE:/i.test(line) ? rules : exrules).push(rule);
  }
  if (problems.length || !zone) throw new RruleError(problems.length ? problems : [MSG.dtstartRequired]);
  return { zone, dtstartWall, rules, exrules };
}

function parseDtstart(line: string, problems: string[]): { zone: Zone | null; dtstartWall: number } {
  const none = { zone: null, dtstartWall: 0 };
  const m = /^DTSTART(?:;([^:]*))?:(.*)$/i.exec(line)!;
  const params = m[1];
  const value = DATE_TIME.exec(m[2].toUpperCase());
  if (!value || value[2] === undefined) { problems.push(MSG.dtstartRequired); return none; }
  let zone: Zone | null;
  if (params === undefined) {
    if (!value[3]) { problems.push(MSG.naive); return none; }
    zone = Zone.UTC;
  } else {
    const tzid = /^TZID=(.+)$/i.exec(params);
    if (!tzid) { problems.push(MSG.failed(`unsupported DTSTART parameter: ${params.slice(0, 40)}`)); return none; }
    zone = zoneNamed(tzid[1]);
    if (!zone) { problems.push(MSG.tzid); return none; }
    if (value[3]) { problems.push(MSG.failed('a DTSTART with TZID is a local time and takes no Z')); return none; }
  }
  const wall = wallOf(value[1], value[2]);
  if (wall === null) { problems.push(MSG.failed(`invalid DTSTART date or time: ${m[2].slice(0, 20)}`)); return none; }
  return { zone, dtstartWall: wall };
}

/** Wall time of YYYYMMDD[THHMM[SS]], or null when a field is out of range. */
function wallOf(date: string, hhmmss: string | undefined): number | null {
  const y = +date.slice(0, 4);
  const mo = +date.slice(4, 6);
  const d = +date.slice(6, 8);
  const time = hhmmss ?? '000000';
  const h = +time.slice(0, 2);
  const mi = +time.slice(2, 4);
  const s = time.length === 6 ? +time.slice(4, 6) : 0;
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > monthLength(y, mo) || h > 23 || mi > 59 || s > 59) return null;
  return wallOfFields(y, mo, d, h, mi, s);
}

const RULE_KEYS = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'WKST', 'BYMONTH', 'BYMONTHDAY', 'BYYEARDAY', 'BYDAY',
  'BYHOUR', 'BYMINUTE', 'BYSECOND', 'BYSETPOS']);

function parseRule(line: string, zone: Zone | null, problems: string[]): Rule | null {
  const before = problems.length;
  const fail = (why: string) => problems.push(`${why}: ${line}`);
  const parts: Part[] = [];
  for (const raw of line.slice(line.indexOf(':') + 1).split(';')) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    if (eq <= 0) { problems.push(MSG.failed(`malformed rule part '${raw.slice(0, 40)}' in ${line}`)); continue; }
    parts.push({ key: raw.slice(0, eq).toUpperCase(), value: raw.slice(eq + 1).toUpperCase() });
  }
  const get = (key: string) => parts.find((p) => p.key === key)?.value;
  for (const [i, p] of parts.entries()) {
    if (p.key === 'BYWEEKNO' || p.key === 'BYEASTER') problems.push(MSG.failed(`${p.key} is not supported`));
    else if (!RULE_KEYS.has(p.key)) problems.push(MSG.failed(`unknown parameter name: ${p.key.slice(0, 40)}`));
    else if (parts.findIndex((q) => q.key === p.key) !== i) problems.push(MSG.failed(`${p.key} given twice in ${line}`));
  }

  const freqText = get('FREQ');
  if (get('INTERVAL') === undefined) fail('INTERVAL required in rrule');
  else if (freqText === 'SECONDLY') fail('SECONDLY is not supported');
  if (get('COUNT') !== undefined && get('UNTIL') !== undefined) fail('RRULE may not contain both COUNT and UNTIL');

  let freq: Freq | null = null;
  if (freqText === undefined) problems.push(MSG.failed(`FREQ is required in ${line}`));
  else if (FREQS.includes(freqText as Freq)) freq = freqText as Freq;
  else if (freqText !== 'SECONDLY') problems.push(MSG.failed(`invalid 'FREQ': ${freqText.slice(0, 20)}`));

  const number = (key: string, min: number, max: number): number | null => {
    const v = get(key);
    if (v === undefined) return null;
    if (!/^\d{1,9}$/.test(v) || +v < min || +v > max) { problems.push(MSG.failed(`invalid '${key}': ${v.slice(0, 20)}`)); return null; }
    return +v;
  };
  const interval = number('INTERVAL', 1, 999_999_999) ?? 1;
  let count: number | null = null;
  const countText = get('COUNT');
  if (countText !== undefined) {
    if (/^\d{1,9}$/.test(countText) && +countText > 999) fail('COUNT > 999 is unsupported');
    else count = number('COUNT', 1, 999);
  }

  let untilWall: number | null = null;
  const untilText = get('UNTIL');
  if (untilText !== undefined) {
    const m = DATE_TIME.exec(untilText);
    const wall = m ? wallOf(m[1], m[2]) : null;
    if (wall === null) problems.push(MSG.failed(`invalid 'UNTIL': ${untilText.slice(0, 20)}`));
    else untilWall = m![3] && zone ? zone.wallAt(wall) : wall;
  }

  const list = (key: string, min: number, max: number, nonZero = false): number[] | null => {
    const v = get(key);
    if (v === undefined) return null;
    const out: number[] = [];
    for (const item of v.split(',')) {
      const n = /^[+-]?\d{1,3}$/.test(item) ? Number(item) : NaN;
      if (!(n >= min && n <= max) || (nonZero && n === 0)) { problems.push(MSG.failed(`invalid '${key}' value: ${item.slice(0, 20)}`)); return null; }
      if (!out.includes(n)) out.push(n);
    }
    return out.sort((a, b) => a - b);
  };

  const wkstText = get('WKST');
  const wkst = wkstText === undefined ? 0 : WEEKDAYS.indexOf(wkstText as (typeof WEEKDAYS)[number]);
  if (wkst < 0) problems.push(MSG.failed(`invalid 'WKST': ${wkstText!.slice(0, 20)}`));

  const byMonth = list('BYMONTH', 1, 12);
  const byDay = parseByDay(get('BYDAY'), freq, byMonth !== null, line, problems);

  if (problems.length > before || freq === null) return null;
  return {
    text: line, freq, interval, count, untilWall, wkst, byMonth, byDay,
    byMonthDay: list('BYMONTHDAY', -31, 31, true),
    byYearDay: list('BYYEARDAY', -366, 366, true),
    byHour: list('BYHOUR', 0, 23),
    byMinute: list('BYMINUTE', 0, 59),
    bySecond: list('BYSECOND', 0, 59),
    bySetPos: list('BYSETPOS', -366, 366, true),
  };
}

function parseByDay(value: string | undefined, freq: Freq | null, hasByMonth: boolean, line: string, problems: string[]): ByDay[] | null {
  if (value === undefined) return null;
  const out: ByDay[] = [];
  for (const item of value.split(',')) {
    const m = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item);
    if (!m) { problems.push(MSG.failed(`invalid 'BYDAY' value: ${item.slice(0, 20)}`)); return null; }
    const nth = m[1] === undefined ? 0 : Number(m[1]);
    if (m[1] !== undefined) {
      if (freq !== 'MONTHLY' && freq !== 'YEARLY') {
        problems.push(`BYDAY with a numeric prefix is only supported with FREQ=MONTHLY or FREQ=YEARLY: ${line}`);
        return null;
      }
      // A month has at most five of each weekday, a year 53: a larger ordinal never matches.
      const max = freq === 'MONTHLY' || hasByMonth ? 5 : 53;
      if (nth === 0 || Math.abs(nth) > max) { problems.push(MSG.failed(`invalid 'BYDAY' value: ${item}`)); return null; }
    }
    out.push({ weekday: WEEKDAYS.indexOf(m[2] as (typeof WEEKDAYS)[number]), nth });
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * HOURLY and MINUTELY rules step through the wall clock from DTSTART, so the hours (minutes
 * of the day) they can ever visit are DTSTART's plus multiples of gcd(INTERVAL, 24) (1440).
 * `FREQ=HOURLY;INTERVAL=2;BYHOUR=1` from midnight visits only even hours: it has no
 * occurrence at all, and an expansion would search for one forever (issue #12).
 */
function checkReachable(rule: Rule, dtstartWall: number, problems: string[]): void {
  if (rule.freq !== 'HOURLY' && rule.freq !== 'MINUTELY') return;
  const sod = ((dtstartWall % DAY) + DAY) % DAY;
  const hours = rule.byHour ?? Array.from({ length: 24 }, (_, h) => h);
  if (rule.freq === 'HOURLY') {
    const g = gcd(rule.interval, 24);
    const h0 = Math.floor(sod / 3600);
    if (!hours.some((h) => (h - h0) % g === 0)) {
      problems.push(MSG.failed(`BYHOUR never matches: every ${rule.interval} hours from DTSTART's hour ${h0} (${rule.text})`));
    }
    return;
  }
  if (!rule.byHour && !rule.byMinute) return;
  const g = gcd(rule.interval, 1440);
  const m0 = Math.floor(sod / 60);
  const minutes = rule.byMinute ?? Array.from({ length: 60 }, (_, m) => m);
  if (!hours.some((h) => minutes.some((m) => (h * 60 + m - m0) % g === 0))) {
    problems.push(MSG.failed(`BYHOUR/BYMINUTE never match: every ${rule.interval} minutes from DTSTART's minute ${m0 % 60} past ${Math.floor(m0 / 60)} (${rule.text})`));
  }
}
