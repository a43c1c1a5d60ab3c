/**
 * Wall-clock calendar arithmetic. A schedule is expanded in the wall time of its DTSTART's
 * zone, as dateutil (and so AWX) does, and only the occurrences it yields are converted to
 * instants (zone.ts). A wall time is a plain number, "seconds since 1970-01-01T00:00:00"
 * read off a clock with no zone, so every step of the expansion is integer arithmetic.
 * Days are numbered the same way (day 0 is 1970-01-01, proleptic Gregorian).
 */
export const DAY = 86_400;

/** Year 9999 is the last one dateutil can represent; expansion ends there. */
export const LAST_YEAR = 9999;

/** Weekdays as RFC 5545 names them, Monday first (0 = MO ... 6 = SU). */
export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function monthLength(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

export function yearLength(y: number): number {
  return isLeapYear(y) ? 366 : 365;
}

/** Leap days in the years before `y` (from year 1). */
function leapDaysBefore(y: number): number {
  const p = y - 1;
  return Math.floor(p / 4) - Math.floor(p / 100) + Math.floor(p / 400);
}

/** Day number of January 1st of a year. */
export function yearStart(y: number): number {
  return 365 * (y - 1970) + leapDaysBefore(y) - leapDaysBefore(1970);
}

/** Days before the first of each month in a common year. */
const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

export function dayNumber(y: number, m: number, d: number): number {
  return yearStart(y) + DAYS_BEFORE_MONTH[m - 1] + (m > 2 && isLeapYear(y) ? 1 : 0) + d - 1;
}

export interface CivilDate { y: number; m: number; d: number }

/** Arithmetic only (a Date costs more than the rest of an expansion step): the year from the mean year length, corrected by one. */
export function civilDate(day: number): CivilDate {
  let y = 1970 + Math.floor(day / 365.2425);
  while (yearStart(y) > day) y--;
  while (yearStart(y + 1) <= day) y++;
  let rest = day - yearStart(y);
  let m = 1;
  for (; m < 12; m++) {
    const len = monthLength(y, m);
    if (rest < len) break;
    rest -= len;
  }
  return { y, m, d: rest + 1 };
}

/** 1970-01-01 was a Thursday (3 with Monday = 0). */
export function weekday(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

export function wallOfFields(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  return dayNumber(y, mo, d) * DAY + h * 3600 + mi * 60 + s;
}

export interface WallFields extends CivilDate { h: number; mi: number; s: number }

export function wallFields(wall: number): WallFields {
  const day = Math.floor(wall / DAY);
  const sod = wall - day * DAY;
  return { ...civilDate(day), h: Math.floor(sod / 3600), mi: Math.floor((sod % 3600) / 60), s: sod % 60 };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2030-01-01T09:00:00`, the form AWX shows a naive local time in (`until`). */
export function formatWall(wall: number): string {
  const f = wallFields(wall);
  return `${pad(f.y, 4)}-${pad(f.m)}-${pad(f.d)}T${pad(f.h)}:${pad(f.mi)}:${pad(f.s)}`;
}
