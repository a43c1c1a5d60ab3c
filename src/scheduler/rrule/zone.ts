import { DAY, wallOfFields } from './calendar.js';

/**
 * The zone of a schedule's DTSTART: wall time <-> instant (both in seconds, see calendar.ts)
 * through Intl, whose ICU data Node 20 ships in full.
 *
 * One Intl format costs about 3 us here (formatToParts twice that), so offsets are cached
 * per UTC day: when the offsets at a day's two ends agree the whole day has that offset
 * (no zone has changed its offset twice within one day), and only a day holding a
 * transition is asked about the exact second.
 *
 * Wall times that a transition makes ambiguous resolve to the earlier instant and wall
 * times that fall in a gap have none: dateutil's fold=0 and AWX's "skip imaginary dates".
 */
export class Zone {
  /** The name as the rrule spells it (AWX reports links such as US/Eastern as written). */
  readonly name: string;
  readonly isUtc: boolean;
  readonly #format: Intl.DateTimeFormat | null;
  readonly #offsetAtDayStart = new Map<number, number>();

  private constructor(name: string, format: Intl.DateTimeFormat | null) {
    this.name = name;
    this.isUtc = format === null;
    this.#format = format;
  }

  static readonly UTC = new Zone('UTC', null);

  /** The zone a TZID names, or null when Intl does not know it (`US-Eastern`, offsets like `+05:00`). */
  static named(tzid: string): Zone | null {
    if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(tzid)) return null;
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: tzid, hourCycle: 'h23', year: 'numeric', month: 'numeric',
        day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      return null;
    }
    return new Zone(tzid, format.resolvedOptions().timeZone === 'UTC' ? null : format);
  }

  /** Wall time of an instant. */
  wallAt(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /** The earliest instant showing this wall time, or null when it falls in a gap. */
  instantOf(wall: number): number | null {
    if (this.isUtc) return wall;
    const before = this.offsetAt(wall - DAY);
    const after = this.offsetAt(wall + DAY);
    let best: number | null = null;
    for (const offset of before === after ? [before] : [before, after]) {
      const instant = wall - offset;
      if (this.offsetAt(instant) === offset && (best === null || instant < best)) best = instant;
    }
    return best;
  }

  /** Seconds east of UTC at an instant. */
  offsetAt(instant: number): number {
    if (this.isUtc) return 0;
    const day = Math.floor(instant / DAY);
    const start = this.#dayStartOffset(day);
    return start === this.#dayStartOffset(day + 1) ? start : this.#exactOffset(instant);
  }

  #dayStartOffset(day: number): number {
    let offset = this.#offsetAtDayStart.get(day);
    if (offset === undefined) {
      // A bound on memory for a long-lived dispatcher; refilling costs one format per day asked.
      if (this.#offsetAtDayStart.size >= 4096) this.#offsetAtDayStart.clear();
      offset = this.#exactOffset(day * DAY);
      this.#offsetAtDayStart.set(day, offset);
    }
    return offset;
  }

  #exactOffset(instant: number): number {
    const text = this.#format!.format(new Date(instant * 1000));
    const m = /^(\d+)\/(\d+)\/(\d+),? (\d+):(\d+):(\d+)$/.exec(text);
    if (!m) throw new Error(`unexpected Intl output for ${this.name}: ${text}`);
    return wallOfFields(+m[3], +m[1], +m[2], +m[4], +m[5], +m[6]) - instant;
  }
}

const zones = new Map<string, Zone | null>();

/** Zones are reused across schedules: each keeps its own offset cache. At most a few hundred names exist. */
export function zoneNamed(tzid: string): Zone | null {
  let zone = zones.get(tzid);
  if (zone === undefined) {
    zone = Zone.named(tzid);
    if (zones.size < 1024) zones.set(tzid, zone);
  }
  return zone;
}

/** ISO 8601 with the zone's offset, `Z` at offset 0 (as DRF renders an aware datetime). */
export function formatInstant(instant: number, zone: Zone): string {
  const offset = zone.offsetAt(instant);
  const local = new Date((instant + offset) * 1000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 3600)).padStart(2, '0');
  const mm = String(Math.floor((abs % 3600) / 60)).padStart(2, '0');
  const ss = abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : '';
  return `${local}${offset < 0 ? '-' : '+'}${hh}:${mm}${ss}`;
}
