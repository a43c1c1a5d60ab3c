/**
 * Rolling latency figures measured in this browser, one point a second: for the events
 * that arrived in that second, p50/p99/max of `delivered - created` (arrival here minus
 * the runner's stamp: the whole path, steps 1–8 of AWX's critical path) and of
 * `modified - created` (runner to database, from the row itself). Each second's samples are
 * capped at 5,000 (a reservoir), and history at 300 points (5 minutes), so a 50k events/s
 * job costs the page the same memory as a quiet one.
 */
export interface Quantiles { p50: number; p99: number; max: number; count: number }

const SAMPLE_CAP = 5000;
export const HISTORY = 300;
/** The tiles' window: a figure is over the last WINDOW_S seconds, and "—" when they hold no data. */
export const WINDOW_S = 10;

class Reservoir {
  #values = new Float64Array(SAMPLE_CAP);
  #n = 0;
  #seen = 0;
  #max = -Infinity;
  add(v: number): void {
    if (!Number.isFinite(v)) return;
    this.#seen++;
    if (v > this.#max) this.#max = v;
    if (this.#n < SAMPLE_CAP) this.#values[this.#n++] = v;
    else {
      const j = Math.floor(Math.random() * this.#seen);
      if (j < SAMPLE_CAP) this.#values[j] = v;
    }
  }
  take(): Second | undefined {
    if (!this.#n) return undefined;
    const s = this.#values.slice(0, this.#n).sort();
    const out = { ...quantiles(s, this.#max, this.#seen), sample: s };
    this.#n = 0;
    this.#seen = 0;
    this.#max = -Infinity;
    return out;
  }
}

/** One second's figures and its (sorted) sample, kept for the window's quantiles. */
interface Second extends Quantiles { sample: Float64Array }

function quantiles(sorted: Float64Array, max: number, count: number): Quantiles {
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50: q(0.5), p99: q(0.99), max, count };
}

/** Quantiles over the seconds of the window that had events (their samples merged); undefined when none had. */
function overWindow(seconds: readonly (Second | undefined)[]): Quantiles | undefined {
  const held = seconds.slice(-WINDOW_S).filter((x): x is Second => x !== undefined);
  if (!held.length) return undefined;
  const all = new Float64Array(held.reduce((n, x) => n + x.sample.length, 0));
  let at = 0;
  for (const x of held) { all.set(x.sample, at); at += x.sample.length; }
  all.sort();
  return quantiles(all, Math.max(...held.map((x) => x.max)), held.reduce((n, x) => n + x.count, 0));
}

export class LagMeter {
  #delivered = new Reservoir();
  #stored = new Reservoir();
  readonly delivered: (Quantiles | undefined)[] = [];
  readonly stored: (Quantiles | undefined)[] = [];
  /** The last WINDOW_S seconds with their samples (the history above keeps figures only). */
  #recentDelivered: (Second | undefined)[] = [];
  #recentStored: (Second | undefined)[] = [];
  total = 0;
  /** Over the last WINDOW_S seconds: undefined when no event arrived in them. */
  window: { delivered?: Quantiles; stored?: Quantiles } = {};

  add(createdMs: number, modifiedMs: number, receivedAt: number): void {
    this.total++;
    this.#delivered.add(receivedAt - createdMs);
    this.#stored.add(modifiedMs - createdMs);
  }

  /** Closes the current second; returns its figures. */
  tick(): { delivered?: Quantiles; stored?: Quantiles } {
    const d = this.#delivered.take();
    const s = this.#stored.take();
    push(this.delivered, d && strip(d));
    push(this.stored, s && strip(s));
    for (const [list, x] of [[this.#recentDelivered, d], [this.#recentStored, s]] as const) {
      list.push(x);
      if (list.length > WINDOW_S) list.shift();
    }
    this.window = { delivered: overWindow(this.#recentDelivered), stored: overWindow(this.#recentStored) };
    return { delivered: d, stored: s };
  }

  reset(): void {
    this.#delivered.take();
    this.#stored.take();
    this.delivered.length = 0;
    this.stored.length = 0;
    this.total = 0;
    this.#recentDelivered = [];
    this.#recentStored = [];
    this.window = {};
  }
}

function strip(x: Second): Quantiles {
  return { p50: x.p50, p99: x.p99, max: x.max, count: x.count };
}

export function push<T>(arr: T[], v: T): void {
  arr.push(v);
  if (arr.length > HISTORY) arr.splice(0, arr.length - HISTORY);
}
