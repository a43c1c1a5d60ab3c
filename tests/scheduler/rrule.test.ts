import { describe, expect, test } from 'vitest';
import {
  RruleError, occurrencesAfter, parseRrule, previewOccurrences, rruleTimezone, rruleUntil, scheduleTimes,
} from '../../src/scheduler/rrule/index.js';

/**
 * The one RRULE implementation (src/scheduler/rrule/) against the occurrences AWX answers
 * (its own API tests' expectations, dateutil's semantics) and RFC 5545's worked examples,
 * with AWX's validation messages and the step budget. No database: pure functions.
 */
const NOW = new Date('2029-01-01T00:00:00Z');
const BEFORE_1997 = new Date('1990-01-01T00:00:00Z');

/** The preview's `local` column: ISO times with DTSTART's offset. */
const local = (rrule: string, now = NOW) => previewOccurrences(parseRrule(rrule), now).local;
const utc = (rrule: string, now = NOW) => previewOccurrences(parseRrule(rrule), now).utc;
/** All occurrences (up to `limit`) as UTC ISO strings. */
const all = (rrule: string, limit = 200, now = BEFORE_1997) =>
  occurrencesAfter(parseRrule(rrule), now, limit).map((d) => d.toISOString().replace('.000Z', 'Z'));
const days = (rrule: string, limit = 200) => all(rrule, limit).map((s) => s.slice(0, 10));

function problems(rrule: string): string[] {
  try {
    parseRrule(rrule);
  } catch (err) {
    expect(err).toBeInstanceOf(RruleError);
    expect((err as RruleError).code).toBe('PS_ERR_RRULE');
    return (err as RruleError).problems;
  }
  throw new Error(`accepted: ${rrule}`);
}

describe('occurrences AWX answers', () => {
  test('UTC, and New York across the start of daylight saving time', () => {
    expect(utc('DTSTART:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5')).toEqual([
      '2030-03-08T05:00:00Z', '2030-03-09T05:00:00Z', '2030-03-10T05:00:00Z', '2030-03-11T05:00:00Z', '2030-03-12T05:00:00Z']);
    const ny = previewOccurrences(parseRrule('DTSTART;TZID=America/New_York:20300308T050000 RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5'), NOW);
    expect(ny.local).toEqual(['2030-03-08T05:00:00-05:00', '2030-03-09T05:00:00-05:00', '2030-03-10T05:00:00-04:00',
      '2030-03-11T05:00:00-04:00', '2030-03-12T05:00:00-04:00']);
    expect(ny.utc).toEqual(['2030-03-08T10:00:00Z', '2030-03-09T10:00:00Z', '2030-03-10T09:00:00Z', '2030-03-11T09:00:00Z', '2030-03-12T09:00:00Z']);
    expect(local('DTSTART;TZID=America/Phoenix:20300308T050000 RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5')).toEqual([
      '2030-03-08T05:00:00-07:00', '2030-03-09T05:00:00-07:00', '2030-03-10T05:00:00-07:00', '2030-03-11T05:00:00-07:00', '2030-03-12T05:00:00-07:00']);
  });

  test('local days decide weekdays, month positions and years, not UTC ones', () => {
    expect(local('DTSTART;TZID=America/New_York:20300112T210000 RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=SA;BYSETPOS=1;COUNT=4')).toEqual([
      '2030-02-02T21:00:00-05:00', '2030-03-02T21:00:00-05:00', '2030-04-06T21:00:00-04:00', '2030-05-04T21:00:00-04:00']);
    expect(utc('DTSTART;TZID=America/New_York:20300101T210000 RRULE:FREQ=WEEKLY;BYDAY=TU;INTERVAL=1;COUNT=3')).toEqual([
      '2030-01-02T02:00:00Z', '2030-01-09T02:00:00Z', '2030-01-16T02:00:00Z']);
    expect(local('DTSTART;TZID=America/New_York:20300101T210000 RRULE:FREQ=MONTHLY;BYDAY=SU;BYSETPOS=1;INTERVAL=1;COUNT=3')).toEqual([
      '2030-01-06T21:00:00-05:00', '2030-02-03T21:00:00-05:00', '2030-03-03T21:00:00-05:00']);
    expect(utc('DTSTART;TZID=America/New_York:20301231T230000 RRULE:FREQ=YEARLY;INTERVAL=1;COUNT=3')).toEqual([
      '2031-01-01T04:00:00Z', '2032-01-01T04:00:00Z', '2033-01-01T04:00:00Z']);
  });

  test('a wall time the clocks skip is not an occurrence; one they repeat happens once', () => {
    expect(local('DTSTART;TZID=America/New_York:20300303T023000 RRULE:FREQ=WEEKLY;BYDAY=SU;INTERVAL=1;COUNT=3')).toEqual([
      '2030-03-03T02:30:00-05:00', '2030-03-17T02:30:00-04:00']);
    expect(local('DTSTART;TZID=America/New_York:20301102T233000 RRULE:FREQ=HOURLY;INTERVAL=1;COUNT=5')).toEqual([
      '2030-11-02T23:30:00-04:00', '2030-11-03T00:30:00-04:00', '2030-11-03T01:30:00-04:00', '2030-11-03T02:30:00-05:00', '2030-11-03T03:30:00-05:00']);
  });

  test('BYMONTHDAY=31 skips shorter months', () => {
    expect(local('DTSTART;TZID=America/New_York:20300101T000000 RRULE:FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=31;COUNT=7')).toEqual([
      '2030-01-31T00:00:00-05:00', '2030-03-31T00:00:00-04:00', '2030-05-31T00:00:00-04:00', '2030-07-31T00:00:00-04:00',
      '2030-08-31T00:00:00-04:00', '2030-10-31T00:00:00-04:00', '2030-12-31T00:00:00-05:00']);
  });

  test('EXRULE subtracts; a naive UNTIL is DTSTART\'s local time', () => {
    expect(local('DTSTART;TZID=America/New_York:20300302T150000 RRULE:INTERVAL=1;FREQ=DAILY;UNTIL=20300304T1500 EXRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SU'))
      .toEqual(['2030-03-02T15:00:00-05:00', '2030-03-04T15:00:00-05:00']);
    expect(local('DTSTART;TZID=US/Eastern:20300428T170000 RRULE:INTERVAL=1;FREQ=DAILY;COUNT=4 EXRULE:INTERVAL=1;FREQ=DAILY;BYMONTH=4;BYMONTHDAY=30'))
      .toEqual(['2030-04-28T17:00:00-04:00', '2030-04-29T17:00:00-04:00', '2030-05-01T17:00:00-04:00']);
    expect(local('DTSTART;TZID=America/New_York:20300313T164500 RRULE:INTERVAL=5;FREQ=MINUTELY EXRULE:FREQ=MINUTELY;INTERVAL=5;BYDAY=WE;BYHOUR=17,18'))
      .toEqual(['2030-03-13T16:45:00-04:00', '2030-03-13T16:50:00-04:00', '2030-03-13T16:55:00-04:00', '2030-03-13T19:00:00-04:00',
        '2030-03-13T19:05:00-04:00', '2030-03-13T19:10:00-04:00', '2030-03-13T19:15:00-04:00', '2030-03-13T19:20:00-04:00',
        '2030-03-13T19:25:00-04:00', '2030-03-13T19:30:00-04:00']);
    const minutes = Array.from({ length: 57 }, (_, i) => i + 3).join(',');
    expect(local(`DTSTART;TZID=America/New_York:20300426T100100 RRULE:INTERVAL=15;FREQ=MINUTELY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=10,11 EXRULE:INTERVAL=15;FREQ=MINUTELY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=11;BYMINUTE=${minutes}`))
      .toEqual(['2030-04-26T10:01:00-04:00', '2030-04-26T10:16:00-04:00', '2030-04-26T10:31:00-04:00', '2030-04-26T10:46:00-04:00',
        '2030-04-26T11:01:00-04:00', '2030-04-29T10:01:00-04:00', '2030-04-29T10:16:00-04:00', '2030-04-29T10:31:00-04:00',
        '2030-04-29T10:46:00-04:00', '2030-04-29T11:01:00-04:00']);
  });

  test('BYDAY and BYMONTHDAY together: any Saturday from the 12th to the 18th', () => {
    expect(local('DTSTART:20301219T130551Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=SA;BYMONTHDAY=12,13,14,15,16,17,18').map((s) => s.slice(0, 10)))
      .toEqual(['2031-01-18', '2031-02-15', '2031-03-15', '2031-04-12', '2031-05-17', '2031-06-14', '2031-07-12', '2031-08-16', '2031-09-13', '2031-10-18']);
  });

  // Walking from 2005 would take millions of steps; the search starts a day before now
  // (1,440 minutes, two steps each: the period and its one candidate).
  test('a DTSTART years in the past previews from now, INTERVAL apart, in a few thousand steps', () => {
    for (const [freq, interval, seconds] of [['MINUTELY', 1, 60], ['MINUTELY', 15, 900], ['MINUTELY', 7, 420], ['HOURLY', 2, 7200]] as const) {
      const now = new Date();
      const rule = parseRrule(`DTSTART;TZID=America/New_York:20051231T000030 RRULE:FREQ=${freq};INTERVAL=${interval}`);
      const next = occurrencesAfter(rule, now, 10, 4_000);
      expect(next).toHaveLength(10);
      expect(next[0].getTime()).toBeGreaterThan(now.getTime());
      expect(next[0].getTime() - now.getTime()).toBeLessThanOrEqual(seconds * 1000);
      for (let i = 1; i < next.length; i++) {
        expect(next[i].getUTCSeconds()).toBe(30);
        // Whole hours: DST changes cannot fall between occurrences this close together more than once.
        if (seconds < 3600) expect(next[i].getTime() - next[i - 1].getTime()).toBe(seconds * 1000);
      }
    }
  });
});

describe('each FREQ with INTERVAL, COUNT, UNTIL and the BY rules', () => {
  test('searching from any time gives the same series as walking from DTSTART', () => {
    for (const rrule of [
      'DTSTART;TZID=America/New_York:20300307T013000 RRULE:FREQ=MINUTELY;INTERVAL=37;BYDAY=SU,MO',
      'DTSTART;TZID=Europe/Paris:20300101T020000 RRULE:FREQ=HOURLY;INTERVAL=5;BYMONTH=3,10',
      'DTSTART;TZID=Australia/Lord_Howe:20300101T013000 RRULE:FREQ=DAILY;INTERVAL=3;BYHOUR=1,2',
      'DTSTART:20300101T080000Z RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,SA;WKST=SU',
      'DTSTART:20300131T080000Z RRULE:FREQ=MONTHLY;INTERVAL=5;BYDAY=-1MO,2WE;BYSETPOS=1,-1',
      'DTSTART:20300101T080000Z RRULE:FREQ=YEARLY;INTERVAL=3;BYDAY=10FR,-3TU',
    ]) {
      const set = parseRrule(rrule);
      const series = occurrencesAfter(set, BEFORE_1997, 60);
      expect(series, rrule).toHaveLength(60);
      for (let i = 0; i + 1 < series.length; i++) {
        expect(occurrencesAfter(set, series[i], 1)[0], `${rrule} after ${series[i].toISOString()}`).toEqual(series[i + 1]);
        expect(occurrencesAfter(set, new Date(series[i + 1].getTime() - 1), 1)[0]).toEqual(series[i + 1]);
      }
    }
  });

  test('MINUTELY and HOURLY', () => {
    expect(all('DTSTART:20300101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=20;COUNT=4'))
      .toEqual(['2030-01-01T00:00:00Z', '2030-01-01T00:20:00Z', '2030-01-01T00:40:00Z', '2030-01-01T01:00:00Z']);
    expect(all('DTSTART:20300101T000000Z RRULE:FREQ=HOURLY;INTERVAL=3;BYMINUTE=15,45;UNTIL=20300101T070000Z'))
      .toEqual(['2030-01-01T00:15:00Z', '2030-01-01T00:45:00Z', '2030-01-01T03:15:00Z', '2030-01-01T03:45:00Z', '2030-01-01T06:15:00Z', '2030-01-01T06:45:00Z']);
    // RFC 5545: every 15 minutes for 6 occurrences; every 3 hours from 9:00 to 17:00 (UNTIL in local time, as AWX reads a naive one).
    expect(local('DTSTART;TZID=America/New_York:19970902T090000 RRULE:FREQ=MINUTELY;INTERVAL=15;COUNT=6', BEFORE_1997).map((s) => s.slice(11, 16)))
      .toEqual(['09:00', '09:15', '09:30', '09:45', '10:00', '10:15']);
    expect(local('DTSTART;TZID=America/New_York:19970902T090000 RRULE:FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000', BEFORE_1997))
      .toEqual(['1997-09-02T09:00:00-04:00', '1997-09-02T12:00:00-04:00', '1997-09-02T15:00:00-04:00']);
    expect(all('DTSTART:20300101T233000Z RRULE:FREQ=HOURLY;INTERVAL=1;BYHOUR=9;COUNT=2'))
      .toEqual(['2030-01-02T09:30:00Z', '2030-01-03T09:30:00Z']);
  });

  test('every 20 minutes from 9:00 to 16:40, written DAILY or MINUTELY, is the same series (RFC 5545)', () => {
    const daily = all('DTSTART:19970902T090000Z RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40', 60);
    const minutely = all('DTSTART:19970902T090000Z RRULE:FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16', 60);
    expect(minutely).toEqual(daily);
    expect(daily.slice(0, 3)).toEqual(['1997-09-02T09:00:00Z', '1997-09-02T09:20:00Z', '1997-09-02T09:40:00Z']);
    expect(daily[23]).toBe('1997-09-02T16:40:00Z');
    expect(daily[24]).toBe('1997-09-03T09:00:00Z');
  });

  test('DAILY', () => {
    expect(all('DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=2;BYHOUR=9,17;COUNT=5')).toEqual([
      '2030-01-01T09:00:00Z', '2030-01-01T17:00:00Z', '2030-01-03T09:00:00Z', '2030-01-03T17:00:00Z', '2030-01-05T09:00:00Z']);
    // RFC 5545: every day in January for 3 years, as YEARLY or DAILY.
    const yearly = days('DTSTART;TZID=America/New_York:19980101T090000 RRULE:FREQ=YEARLY;INTERVAL=1;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA');
    expect(days('DTSTART;TZID=America/New_York:19980101T090000 RRULE:FREQ=DAILY;INTERVAL=1;UNTIL=20000131T140000Z;BYMONTH=1')).toEqual(yearly);
    expect(yearly).toHaveLength(93);
    expect(yearly.at(-1)).toBe('2000-01-31');
  });

  test('WEEKLY, where WKST and the first week matter', () => {
    // RFC 5545: the same rule with WKST=MO and WKST=SU.
    expect(days('DTSTART;TZID=America/New_York:19970805T090000 RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO'))
      .toEqual(['1997-08-05', '1997-08-10', '1997-08-19', '1997-08-24']);
    expect(days('DTSTART;TZID=America/New_York:19970805T090000 RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU'))
      .toEqual(['1997-08-05', '1997-08-17', '1997-08-19', '1997-08-31']);
    // RFC 5545: every other week on Monday, Wednesday and Friday until December 24, 1997.
    const mwf = days('DTSTART;TZID=America/New_York:19970901T090000 RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR');
    expect(mwf).toHaveLength(25);
    expect(mwf.slice(0, 7)).toEqual(['1997-09-01', '1997-09-03', '1997-09-05', '1997-09-15', '1997-09-17', '1997-09-19', '1997-09-29']);
    expect(mwf.slice(-4)).toEqual(['1997-12-08', '1997-12-10', '1997-12-12', '1997-12-22']);
    // From a Tuesday: the first (partial) week holds only its Friday.
    expect(days('DTSTART:20300101T080000Z RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;COUNT=6'))
      .toEqual(['2030-01-04', '2030-01-14', '2030-01-18', '2030-01-28', '2030-02-01', '2030-02-11']);
    // dateutil's first week starts on DTSTART's day, so BYSETPOS=1 picks that week's Sunday, not the Wednesday before DTSTART.
    expect(days('DTSTART:20330505T002000Z RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SU,WE;BYSETPOS=1;COUNT=2;WKST=TU'))
      .toEqual(['2033-05-08', '2033-05-11']);
  });

  test('MONTHLY with BYDAY ordinals, BYMONTHDAY (negative too) and BYSETPOS', () => {
    expect(days('DTSTART:20300101T000000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=1MO,-1FR;COUNT=6'))
      .toEqual(['2030-01-07', '2030-01-25', '2030-02-04', '2030-02-22', '2030-03-04', '2030-03-29']);
    expect(days('DTSTART:20300101T000000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=-1;COUNT=3')).toEqual(['2030-01-31', '2030-02-28', '2030-03-31']);
    // The last weekday of the month.
    expect(days('DTSTART:20300101T000000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3')).toEqual(['2030-01-31', '2030-02-28', '2030-03-29']);
    // RFC 5545 examples.
    expect(days('DTSTART;TZID=America/New_York:19970905T090000 RRULE:FREQ=MONTHLY;INTERVAL=1;UNTIL=19971224T000000Z;BYDAY=1FR'))
      .toEqual(['1997-09-05', '1997-10-03', '1997-11-07', '1997-12-05']);
    expect(days('DTSTART;TZID=America/New_York:19970907T090000 RRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU'))
      .toEqual(['1997-09-07', '1997-09-28', '1997-11-02', '1997-11-30', '1998-01-04', '1998-01-25', '1998-03-01', '1998-03-29', '1998-05-03', '1998-05-31']);
    expect(days('DTSTART;TZID=America/New_York:19970922T090000 RRULE:FREQ=MONTHLY;INTERVAL=1;COUNT=6;BYDAY=-2MO'))
      .toEqual(['1997-09-22', '1997-10-20', '1997-11-17', '1997-12-22', '1998-01-19', '1998-02-16']);
    expect(days('DTSTART;TZID=America/New_York:19970904T090000 RRULE:FREQ=MONTHLY;INTERVAL=1;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3'))
      .toEqual(['1997-09-04', '1997-10-07', '1997-11-06']);
    expect(days('DTSTART;TZID=America/New_York:19970902T090000 RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=FR;BYMONTHDAY=13', 5))
      .toEqual(['1998-02-13', '1998-03-13', '1998-11-13', '1999-08-13', '2000-10-13']);
  });

  test('YEARLY with BYMONTH, BYMONTHDAY, BYDAY ordinals of the year, and leap days', () => {
    expect(days('DTSTART:20300101T120000Z RRULE:FREQ=YEARLY;INTERVAL=1;BYMONTH=1,7;BYMONTHDAY=15;COUNT=4'))
      .toEqual(['2030-01-15', '2030-07-15', '2031-01-15', '2031-07-15']);
    expect(days('DTSTART:20300228T120000Z RRULE:FREQ=YEARLY;INTERVAL=2;COUNT=3')).toEqual(['2030-02-28', '2032-02-28', '2034-02-28']);
    expect(days('DTSTART:20300101T000000Z RRULE:FREQ=YEARLY;INTERVAL=1;BYMONTH=2;BYMONTHDAY=29;COUNT=3')).toEqual(['2032-02-29', '2036-02-29', '2040-02-29']);
    // RFC 5545: every 20th Monday of the year.
    expect(local('DTSTART;TZID=America/New_York:19970519T090000 RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=20MO;COUNT=3', BEFORE_1997))
      .toEqual(['1997-05-19T09:00:00-04:00', '1998-05-18T09:00:00-04:00', '1999-05-17T09:00:00-04:00']);
    // With BYMONTH the ordinal counts within the month: the last Sunday of March and October.
    expect(days('DTSTART:20300101T010000Z RRULE:FREQ=YEARLY;INTERVAL=1;BYMONTH=3,10;BYDAY=-1SU;COUNT=4'))
      .toEqual(['2030-03-31', '2030-10-27', '2031-03-30', '2031-10-26']);
    expect(days('DTSTART:20300101T000000Z RRULE:FREQ=YEARLY;INTERVAL=1;BYYEARDAY=1,-1;COUNT=3')).toEqual(['2030-01-01', '2030-12-31', '2031-01-01']);
  });

  test('DTSTART counts only when the rule matches it; occurrences before it are dropped', () => {
    expect(days('DTSTART:20300102T000000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=1,15;COUNT=3')).toEqual(['2030-01-15', '2030-02-01', '2030-02-15']);
  });
});

describe('computed fields', () => {
  test('dtstart, dtend and next_run; dtend only when every rule ends', () => {
    const count = scheduleTimes(parseRrule('DTSTART:20300101T090000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=999'), NOW);
    expect(count).toEqual({ dtstart: new Date('2030-01-01T09:00:00Z'), dtend: new Date('2032-09-25T09:00:00Z'), nextRun: new Date('2030-01-01T09:00:00Z') });
    // Ten years of minutes ending on UNTIL: the last one is found from the end, in a few thousand steps.
    const minutes = scheduleTimes(parseRrule('DTSTART;TZID=America/New_York:20300101T090000 RRULE:FREQ=MINUTELY;INTERVAL=1;UNTIL=20400101T000000'),
      new Date('2035-06-01T00:00:00Z'), 20_000);
    expect(minutes).toEqual({ dtstart: new Date('2030-01-01T14:00:00Z'), dtend: new Date('2040-01-01T05:00:00Z'), nextRun: new Date('2035-06-01T00:01:00Z') });
    const open = scheduleTimes(parseRrule('DTSTART:20300101T090000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=3 RRULE:FREQ=WEEKLY;INTERVAL=1'), NOW);
    expect(open.dtend).toBeNull();
    expect(scheduleTimes(parseRrule('DTSTART:20200101T090000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=3'), NOW))
      .toEqual({ dtstart: new Date('2020-01-01T09:00:00Z'), dtend: new Date('2020-01-03T09:00:00Z'), nextRun: null });
  });

  test('timezone and until as AWX shows them', () => {
    const ny = parseRrule('DTSTART;TZID=US/Eastern:20300101T090000 RRULE:FREQ=DAILY;INTERVAL=1;UNTIL=20300201T000000Z');
    expect(rruleTimezone(ny)).toBe('US/Eastern');
    expect(rruleUntil(ny)).toBe('2030-01-31T19:00:00');
    const z = parseRrule('DTSTART:20300101T090000Z RRULE:FREQ=DAILY;INTERVAL=1');
    expect([rruleTimezone(z), rruleUntil(z)]).toEqual(['UTC', '']);
  });
});

describe('what is refused, and the budget', () => {
  test('AWX\'s rules, its messages, every problem at once', () => {
    expect(problems('DTSTART:NONSENSE RRULE:NONSENSE RRULE:FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=3,4')[0])
      .toBe('Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ');
    expect(problems('DTSTART:20300308T050000Z RRULE:FREQ=MONTHLY;INTERVAL=1 RDATE:20300401T050000Z')).toEqual(['RDATE not allowed in rrule.']);
    expect(problems('EXRULE:FREQ=SECONDLY DTSTART;TZID=US-Eastern:19961105T090000 RRULE:FREQ=MINUTELY;INTERVAL=10;COUNT=5;UNTIL=20220101 DTSTART;TZID=US-Eastern:19961105T090000'))
      .toEqual(['Multiple DTSTART is not supported.', 'INTERVAL required in rrule: EXRULE:FREQ=SECONDLY',
        'RRULE may not contain both COUNT and UNTIL: RRULE:FREQ=MINUTELY;INTERVAL=10;COUNT=5;UNTIL=20220101']);
    expect(problems('DTSTART;TZID=America/New_York:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1')[0]).toMatch(/^rrule parsing failed validation: /);
    expect(problems('DTSTART:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1;BYWEEKNO=20')).toEqual(['rrule parsing failed validation: BYWEEKNO is not supported']);
    expect(problems('DTSTART:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=24')[0]).toMatch(/invalid 'BYHOUR' value: 24/);
    expect(problems('DTSTART:20300308T050000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=6MO')[0]).toMatch(/invalid 'BYDAY' value: 6MO/);
    expect(problems('DTSTART:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=0')[0]).toMatch(/invalid 'COUNT'/);
    expect(problems('DTSTART:20300230T050000Z RRULE:FREQ=DAILY;INTERVAL=1')[0]).toMatch(/invalid DTSTART/);
    expect(problems(`DTSTART:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1;BYMINUTE=${'1,'.repeat(3000)}1`)[0]).toMatch(/no more than 4096 characters/);
  });

  test('an HOURLY or MINUTELY INTERVAL that never lands on BYHOUR/BYMINUTE is refused before any search', () => {
    expect(problems('DTSTART:20300101T000000Z RRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=1')[0]).toMatch(/BYHOUR never matches/);
    expect(problems('DTSTART:20300101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=30;BYMINUTE=15')[0]).toMatch(/BYHOUR\/BYMINUTE never match/);
    expect(all('DTSTART:20300101T000000Z RRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=1,4;COUNT=2')).toEqual(['2030-01-01T04:00:00Z', '2030-01-02T04:00:00Z']);
    // Minute 64 of a day is reached every 7 minutes from midnight only on the fifth day (1440 = 5 mod 7).
    expect(all('DTSTART:20300101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=7;BYHOUR=1;BYMINUTE=4;COUNT=1')).toEqual(['2030-01-05T01:04:00Z']);
  });

  test('a rule that matches nothing runs out of its step budget quickly instead of searching to year 9999', () => {
    const everySecond = 'BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59;BYSECOND=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59';
    for (const rrule of ['DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;BYMONTH=2;BYMONTHDAY=30',
      'DTSTART:20300101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=1;BYMONTH=4;BYMONTHDAY=31',
      // 86,400 candidates a day, all needed for BYSETPOS: ten days of them are over the budget.
      `DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;${everySecond};BYSETPOS=-1`]) {
      const started = performance.now();
      const set = parseRrule(rrule);
      let error: unknown;
      try { previewOccurrences(set, NOW); } catch (err) { error = err; }
      expect(error, rrule).toBeInstanceOf(RruleError);
      expect((error as RruleError).budgetExceeded).toBe(true);
      expect((error as RruleError).problems[0]).toMatch(/needs more than 200000 steps/);
      expect(performance.now() - started).toBeLessThan(1000);
    }
    expect(() => occurrencesAfter(parseRrule('DTSTART:20300101T000000Z RRULE:FREQ=YEARLY;INTERVAL=1;BYMONTH=2;BYMONTHDAY=29'), NOW, 1, 10))
      .toThrow(RruleError);
  });
});
