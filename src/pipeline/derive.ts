import type { EventRow } from './event-row.js';
import { eventType } from './event-types.js';

/**
 * The columns AWX derives from an event (models/events.py `_update_from_event_data` and
 * the runner callback's host lookup), computed once per event at parse time:
 * - failed: a failing event type, unless `ignore_errors`; for playbook_on_stats, any
 *   failures or dark (unreachable) count;
 * - changed: `res.changed`; for playbook_on_stats, any changed count;
 * - playbook/play/role/task: event_data's value as text, trimmed, at most 1024 chars (AWX's
 *   column width);
 * - host_name: event_data.host, trimmed (host_id is looked up per job at store time).
 */
/** The row's `derived` columns (event-row.ts). */
export type DerivedColumns = Pick<EventRow, 'failed' | 'changed' | 'host_name' | 'playbook' | 'play' | 'role' | 'task'>;

const MAX_NAME = 1024;

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)).trim();
  return s.length > MAX_NAME ? s.slice(0, MAX_NAME) : s;
}

function sumValues(v: unknown): number {
  if (typeof v !== 'object' || v === null) throw new TypeError('not a mapping');
  let n = 0;
  for (const x of Object.values(v)) {
    if (typeof x !== 'number') throw new TypeError('not a number');
    n += x;
  }
  return n;
}

/** Sets the derived columns of `row` (its `event` set) from its parsed event_data. */
export function deriveColumns(row: DerivedColumns & { event: string }, d: Record<string, unknown>): void {
  const event = row.event;
  let failed = eventType(event).failed && !d.ignore_errors;
  let changed = false;
  const res = d.res;
  if (typeof res === 'object' && res !== null && !Array.isArray(res) && (res as Record<string, unknown>).changed) changed = true;
  if (event === 'playbook_on_stats') {
    try {
      failed = sumValues(d.failures ?? {}) + sumValues(d.dark ?? {}) > 0;
      changed = sumValues(d.changed ?? {}) > 0;
    } catch { /* AWX keeps the per-type values when stats are malformed */ }
  }
  row.failed = failed;
  row.changed = changed;
  row.host_name = typeof d.host === 'string' ? text(d.host) : '';
  row.playbook = text(d.playbook);
  row.play = text(d.play);
  row.role = text(d.role);
  row.task = text(d.task);
}

const STATUS_KEYS = ['skipped', 'ok', 'changed', 'failures', 'dark'] as const;

/**
 * AWX's host status counts from playbook_on_stats: each host counted once under its worst
 * status, later keys winning: dark > failures > changed > ok > skipped.
 */
export function hostStatusCounts(d: Record<string, unknown>): Record<string, number> {
  const status = new Map<string, string>();
  for (const key of STATUS_KEYS) {
    const m = d[key];
    if (typeof m !== 'object' || m === null) continue;
    for (const host of Object.keys(m)) status.set(host, key);
  }
  const counts: Record<string, number> = {};
  for (const s of status.values()) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

export const SUMMARY_FIELDS = ['changed', 'dark', 'failures', 'ignored', 'ok', 'processed', 'rescued', 'skipped'] as const;

/** Per-host counts for job_host_summaries, AWX's `_update_host_summary_from_stats`. */
export function hostSummaries(d: Record<string, unknown>): { host: string; counts: Record<string, number>; failed: boolean }[] {
  const hosts = new Set<string>();
  for (const f of SUMMARY_FIELDS) {
    const m = d[f];
    if (typeof m === 'object' && m !== null) for (const h of Object.keys(m)) hosts.add(h);
  }
  return [...hosts].map((host) => {
    const counts: Record<string, number> = {};
    for (const f of SUMMARY_FIELDS) {
      const m = d[f] as Record<string, unknown> | undefined;
      const v = m && typeof m === 'object' ? m[host] : 0;
      counts[f] = typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
    }
    return { host, counts, failed: counts.dark > 0 || counts.failures > 0 };
  });
}
