/** Display helpers shared by the pages. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function formatElapsed(seconds: number | string | null | undefined): string {
  const s = Number(seconds ?? 0);
  if (!s) return '—';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

/** Milliseconds as the dashboard shows them: 0.8 ms, 42 ms, 1.3 s. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return n >= 100 ? Math.round(n).toLocaleString() : String(Math.round(n * 10) / 10);
}

/** AWX's API times: ISO with zone; the runner's `created` has none and is UTC. */
export function parseApiTime(s: string | undefined | null): number {
  if (!s) return NaN;
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
}

export const FINISHED = new Set(['successful', 'failed', 'error', 'canceled']);

const STATUS_RANK: Record<string, number> = { new: 0, pending: 1, waiting: 2, running: 3 };
const statusRank = (status: string | undefined) => (status === undefined ? -1 : STATUS_RANK[status] ?? 4);

/**
 * The later of a job status read over REST and one heard over the websocket: a status never
 * goes back, and either may be the older (messages of one job may cross, and a read right
 * after a message may still be answered from before it).
 */
export function laterStatus(read: string | undefined, heard: string | undefined): string | undefined {
  return statusRank(heard) > statusRank(read) ? heard : read;
}
