/**
 * Prometheus text exposition, parsed into samples; enough of the format for our own
 * `/api/v2/metrics/` (name, labels, value; comments skipped).
 */
export interface Sample { name: string; labels: Record<string, string>; value: number }

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of every sample of `name` matching `filter` (across nodes and workers). */
export function sum(samples: Sample[], name: RegExp, filter: (l: Record<string, string>) => boolean = () => true): number | undefined {
  let total: number | undefined;
  for (const s of samples) if (name.test(s.name) && filter(s.labels)) total = (total ?? 0) + s.value;
  return total;
}

/** Max of every sample of `name` matching `filter`. */
export function max(samples: Sample[], name: RegExp, filter: (l: Record<string, string>) => boolean = () => true): number | undefined {
  let m: number | undefined;
  for (const s of samples) if (name.test(s.name) && filter(s.labels)) m = Math.max(m ?? -Infinity, s.value);
  return m;
}

/** Flattens a JSON message into `a.b.c → number` (the metrics group's live figures). */
export function flattenNumbers(obj: unknown, prefix = '', out: Record<string, number> = {}, depth = 0): Record<string, number> {
  if (depth > 4 || !obj || typeof obj !== 'object') return out;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else if (v && typeof v === 'object') flattenNumbers(v, key, out, depth + 1);
  }
  return out;
}
