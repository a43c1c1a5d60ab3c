/**
 * A small in-process metrics registry that renders Prometheus text. Each process keeps its
 * own; a process whose figures the web process must serve (the receiver) publishes
 * `snapshot()` to Redis and the web process renders those beside its own.
 *
 * Histograms keep fixed buckets for Prometheus plus a bounded reservoir of recent samples
 * (a ring of 4096) for p50/p90/p99/max, so memory stays constant at any rate.
 */
type Labels = Record<string, string>;

function labelKey(labels: Labels = {}): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
}

export class Counter {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(by = 1, labels?: Labels): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels?: Labels): number { return this.values.get(labelKey(labels)) ?? 0; }
}

export class Gauge {
  readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  set(value: number, labels?: Labels): void { this.values.set(labelKey(labels), value); }
  get(labels?: Labels): number { return this.values.get(labelKey(labels)) ?? 0; }
}

const RESERVOIR = 4096;

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  readonly #recent = new Float64Array(RESERVOIR);
  #recentLen = 0;
  #recentPos = 0;
  #max = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
    this.#recent[this.#recentPos] = v;
    this.#recentPos = (this.#recentPos + 1) % RESERVOIR;
    if (this.#recentLen < RESERVOIR) this.#recentLen++;
    if (v > this.#max) this.#max = v;
  }
  /** p50/p90/p99/max over the most recent samples (max over all since start). */
  quantiles(): { p50: number; p90: number; p99: number; max: number; count: number } {
    // A typed array sorts numerically, in place, with no comparator call per step.
    const s = this.#recent.slice(0, this.#recentLen).sort();
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0);
    return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: this.#max, count: this.count };
  }
}

export class Registry {
  readonly #metrics = new Map<string, Counter | Gauge | Histogram>();

  counter(name: string, help: string): Counter { return this.#get(name, () => new Counter(name, help)) as Counter; }
  gauge(name: string, help: string): Gauge { return this.#get(name, () => new Gauge(name, help)) as Gauge; }
  histogram(name: string, help: string, buckets: number[]): Histogram {
    return this.#get(name, () => new Histogram(name, help, buckets)) as Histogram;
  }

  #get(name: string, make: () => Counter | Gauge | Histogram) {
    let m = this.#metrics.get(name);
    if (!m) { m = make(); this.#metrics.set(name, m); }
    return m;
  }

  /** Prometheus text exposition; `extraLabels` (e.g. node) are added to every sample. */
  render(extraLabels: Labels = {}): string {
    const extra = labelKey(extraLabels);
    const join = (k: string) => [extra, k].filter(Boolean).join(',');
    const lines: string[] = [];
    for (const m of this.#metrics.values()) {
      if (m instanceof Histogram) {
        lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} histogram`);
        m.buckets.forEach((b, i) => lines.push(`${m.name}_bucket{${join(`le="${b}"`)}} ${m.counts[i]}`));
        lines.push(`${m.name}_bucket{${join('le="+Inf"')}} ${m.count}`);
        lines.push(`${m.name}_sum${extra ? `{${extra}}` : ''} ${m.sum}`, `${m.name}_count${extra ? `{${extra}}` : ''} ${m.count}`);
        const q = m.quantiles();
        for (const [k, v] of [['0.5', q.p50], ['0.9', q.p90], ['0.99', q.p99], ['1', q.max]] as const) {
          lines.push(`${m.name}_recent{${join(`quantile="${k}"`)}} ${v}`);
        }
      } else {
        lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m instanceof Counter ? 'counter' : 'gauge'}`);
        if (m.values.size === 0) lines.push(`${m.name}${extra ? `{${extra}}` : ''} 0`);
        for (const [k, v] of m.values) lines.push(`${m.name}${join(k) ? `{${join(k)}}` : ''} ${v}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

/** This process's registry. */
export const metrics = new Registry();
