import type { EventStore } from './event-store.js';

/**
 * The mapping between rows on screen and output lines once sections are collapsed: hidden
 * ranges `[from, to)`, sorted and merged (nested collapses count once), with prefix sums of
 * the lines hidden before each. Built from the collapsed headers only — never from the job's
 * lines — and mapping a row or a line is a binary search: folding costs the same on a
 * 1,000,000-line job as on a 100-line one.
 */
export interface Hidden { from: number; to: number }

export class VisibleLines {
  readonly ranges: readonly Hidden[];
  /** before[i]: lines hidden by ranges 0..i-1. */
  readonly #before: Float64Array;
  readonly rows: number;

  constructor(ranges: Hidden[], total: number) {
    const clipped: Hidden[] = [];
    for (const r of ranges) {
      const to = Math.min(r.to, total);
      if (to > r.from) clipped.push({ from: r.from, to });
    }
    this.ranges = clipped;
    this.#before = new Float64Array(clipped.length + 1);
    for (let i = 0; i < clipped.length; i++) this.#before[i + 1] = this.#before[i] + clipped[i].to - clipped[i].from;
    this.rows = Math.max(0, total - this.#before[clipped.length]);
  }

  /** The output line shown at visible row `row`. */
  rowToLine(row: number): number {
    // Last range whose first hidden line would sit at a row ≤ `row`.
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid].from - this.#before[mid] <= row) lo = mid + 1; else hi = mid;
    }
    return row + this.#before[lo];
  }

  /** The visible row of output line `line` (a hidden line maps to its section's header row). */
  lineToRow(line: number): number {
    const i = this.#rangeAtOrBefore(line);
    if (i < 0) return line;
    const r = this.ranges[i];
    if (line < r.to) return r.from - 1 - this.#before[i];
    return line - this.#before[i + 1];
  }

  hides(line: number): boolean {
    const i = this.#rangeAtOrBefore(line);
    return i >= 0 && line < this.ranges[i].to;
  }

  #rangeAtOrBefore(line: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid].from <= line) lo = mid + 1; else hi = mid;
    }
    return lo - 1;
  }
}

/** Hidden ranges of the collapsed headers: O(k log h) for k collapsed among h known headers. */
export function hiddenRanges(store: EventStore, collapsed: ReadonlySet<number>): Hidden[] {
  const lines = [...collapsed].sort((a, b) => a - b);
  const ranges: Hidden[] = [];
  for (const line of lines) {
    const h = store.headerAt(line);
    if (!h) continue;
    const end = store.nextHeaderLine(h) ?? store.totalLines;
    const r = { from: h.line + 1, to: end };
    if (r.to <= r.from) continue;
    const prev = ranges[ranges.length - 1];
    if (prev && r.from <= prev.to) prev.to = Math.max(prev.to, r.to);
    else ranges.push(r);
  }
  return ranges;
}
