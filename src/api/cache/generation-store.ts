/**
 * A bounded map of computed values, each valid until a table it was computed from changes.
 *
 * A computation reports the tables it read along with its value. Every change is numbered
 * (`changed(table)`), and an entry remembers the number current when its computation
 * started: it is served while none of its tables has changed since, so a change to `hosts`
 * leaves job pages where they are. A computation during which one of its tables changed
 * is returned to its callers but not kept: it may have read the data from before the
 * change. `clear()` forgets everything (a change to what every answer depends on, such as
 * roles). Concurrent loads of one key share one computation while nothing has changed
 * since it started (50 clients missing the same page at once would otherwise build it
 * 50 times: ~2 ms of CPU each on a 25-job page).
 *
 * States: disabled (every load computes, nothing is kept; the start, and whenever changes
 * may go unheard) and enabled. Each enable() or disable() also clears.
 *
 * Memory: at most `maxBytes` of values as `sizeOf` counts them; past it the oldest entries
 * go first. An entry found stale is dropped when next asked for.
 */
export interface Computed<V> {
  value: V;
  /** The tables the value was read from. */
  tables: Iterable<string>;
}

interface Entry<V> { value: V; size: number; since: number; tables: string[] }

export class GenerationStore<V> {
  readonly #maxBytes: number;
  readonly #sizeOf: (value: V) => number;
  #entries = new Map<string, Entry<V>>();
  #pending = new Map<string, { since: number; run: Promise<V> }>();
  /** The number of the last change, and of the last change of each table. */
  #seq = 0;
  #changedAt = new Map<string, number>();
  #bytes = 0;
  #enabled = false;

  constructor(maxBytes: number, sizeOf: (value: V) => number) {
    this.#maxBytes = maxBytes;
    this.#sizeOf = sizeOf;
  }

  get enabled(): boolean { return this.#enabled; }
  get size(): number { return this.#entries.size; }

  enable(): void {
    this.clear();
    this.#enabled = this.#maxBytes > 0;
  }

  disable(): void {
    this.#enabled = false;
    this.clear();
  }

  /** Forgets every entry and every computation in flight. */
  clear(): void {
    this.#seq++;
    this.#changedAt.clear();
    this.#entries.clear();
    this.#pending.clear();
    this.#bytes = 0;
  }

  /** `table` changed: entries read from it are no longer served. */
  changed(table: string): void {
    this.#changedAt.set(table, ++this.#seq);
  }

  #fresh(since: number, tables: Iterable<string>): boolean {
    for (const t of tables) if ((this.#changedAt.get(t) ?? 0) > since) return false;
    return true;
  }

  get(key: string): V | undefined {
    const e = this.#entries.get(key);
    return e && this.#fresh(e.since, e.tables) ? e.value : undefined;
  }

  /** The value of `key`, computed by `compute` when absent or stale. */
  load(key: string, compute: () => Promise<Computed<V>>): Promise<V> {
    if (!this.#enabled) return compute().then((c) => c.value);
    const hit = this.#entries.get(key);
    if (hit) {
      if (this.#fresh(hit.since, hit.tables)) return Promise.resolve(hit.value);
      this.#drop(key, hit);
    }
    const pending = this.#pending.get(key);
    if (pending && pending.since === this.#seq) return pending.run;
    const since = this.#seq;
    const run = compute().then(({ value, tables }) => {
      const read = [...new Set(tables)];
      if (this.#enabled && this.#pending.get(key)?.run === run && this.#fresh(since, read)) this.#put(key, { value, size: this.#sizeOf(value), since, tables: read });
      return value;
    }).finally(() => {
      if (this.#pending.get(key)?.run === run) this.#pending.delete(key);
    });
    this.#pending.set(key, { since, run });
    return run;
  }

  #drop(key: string, e: Entry<V>): void {
    this.#entries.delete(key);
    this.#bytes -= e.size;
  }

  #put(key: string, entry: Entry<V>): void {
    if (entry.size > this.#maxBytes) return;
    const old = this.#entries.get(key);
    if (old) this.#drop(key, old);
    this.#entries.set(key, entry);
    this.#bytes += entry.size;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#drop(k, e);
    }
  }
}
