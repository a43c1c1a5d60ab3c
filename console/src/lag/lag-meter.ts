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
  take(): Quantiles | undefined {
    if (!this.#n) return undefined;
    const s = this.#values.slice(0, this.#n).sort();
    const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
    const out = { p50: q(0.5), p99: q(0.99), max: this.#max, count: this.#seen };
    this.#n = 0;
    this.#seen = 0;
    this.#max = -Infinity;
    return out;
  }
}

export class LagMeter {
  #delivered = new Reservoir();
  #stored = new Reservoir();
  readonly delivered: (Quantiles | undefined)[] = [];
  readonly stored: (Quantiles | undefined)[] = [];
  total = 0;
  last: { delivered?: Quantiles; stored?: Quantiles } = {};

  add(createdMs: number, modifiedMs: number, receivedAt: number): void {
    this.total++;
    this.#delivered.add(receivedAt - createdMs);
    this.#stored.add(modifiedMs - createdMs);
  }

  /** Closes the current second; returns its figures. */
  tick(): { delivered?: Quantiles; stored?: Quantiles } {
    const d = this.#delivered.take();
    const s = this.#stored.take();
    push(this.delivered, d);
    push(this.stored, s);
    if (d) this.last.delivered = d;
    if (s) this.last.stored = s;
    return { delivered: d, stored: s };
  }

  reset(): void {
    this.#delivered.take();
    this.#stored.take();
    this.delivered.length = 0;
    this.stored.length = 0;
    this.total = 0;
    this.last = {};
  }
}

export function push<T>(arr: T[], v: T): void {
  arr.push(v);
  if (arr.length > HISTORY) arr.splice(0, arr.length - HISTORY);
}
