import type { EventStore, Header } from './event-store.js';

/**
 * The mapping between rows on screen and output lines once sections are collapsed: a
 * sorted list of hidden ranges `[from, to)`, merged so nested collapses count once. A job
 * has at most a few thousand headers, and only collapsed ones make ranges, so the linear
 * walks below stay far under a millisecond.
 */
export interface Hidden { from: number; to: number }

export function hiddenRanges(store: EventStore, collapsed: ReadonlySet<number>): Hidden[] {
  const ranges: Hidden[] = [];
  for (const h of store.headers) {
    if (!collapsed.has(h.line)) continue;
    const end = store.nextHeaderLine(h as Header) ?? store.totalLines;
    const r = { from: h.line + 1, to: end };
    if (r.to <= r.from) continue;
    const prev = ranges[ranges.length - 1];
    if (prev && r.from <= prev.to) prev.to = Math.max(prev.to, r.to);
    else ranges.push(r);
  }
  return ranges;
}

export function visibleCount(total: number, hidden: Hidden[]): number {
  let n = total;
  for (const r of hidden) n -= Math.min(r.to, total) - Math.min(r.from, total);
  return Math.max(0, n);
}

/** The output line shown at visible row `row`. */
export function rowToLine(row: number, hidden: Hidden[]): number {
  let line = row;
  for (const r of hidden) {
    if (line < r.from) break;
    line += r.to - r.from;
  }
  return line;
}

/** The visible row of output line `line` (a hidden line maps to its section's header row). */
export function lineToRow(line: number, hidden: Hidden[]): number {
  let row = line;
  for (const r of hidden) {
    if (line < r.from) break;
    if (line < r.to) return r.from - 1 - (line - row);
    row -= r.to - r.from;
  }
  return row;
}
