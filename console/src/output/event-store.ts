import { get, type Page, withQuery } from '../api.js';
import { eventLines, type Line } from './ansi.js';
import { type Header, HeaderIndex, Kind } from './headers.js';
import { type SearchMatch, searchOutput } from './search.js';

export { type Header, Kind } from './headers.js';

/**
 * A job's output, held in segments of 200 consecutive counters — the API's largest page, so
 * one segment is one request (`counter__gt=s*200&counter__lte=(s+1)*200`) and segments load
 * in parallel. Lines are never materialised for the whole job: a segment keeps each event's
 * raw stdout and line range (typed arrays), and lines are parsed only for rows on screen
 * (an LRU of 4,000 parsed events).
 *
 * Memory stays bounded at any job size: at most MAX_SEGMENTS (300 × 200 = 60,000 events,
 * ~15 MB of stdout at AWX's typical 250 bytes an event) stay loaded; the least recently used
 * are evicted, and only their line anchors (two ints a segment) remain, so scrolling back
 * refetches exactly the right segment. A line in a segment never seen is found by
 * interpolating between known anchors and narrowing in on it as segments arrive.
 *
 * Live events (websocket) and fetched ones (REST) go through the same insert, which drops a
 * counter already held: no duplicates whatever the order. Gaps are filled over REST: when
 * a live event skips counters, `(highWater, counter]` is fetched after 300 ms (the two
 * receiver workers may commit batches out of order, and the late one usually arrives within
 * that time on its own), and at once after a reconnect or a `control` message naming a
 * missed range.
 */
export const SEG = 200;
const MAX_SEGMENTS = 300;
const MAX_PARSED = 4000;
const MAX_PARALLEL = 6;
const GAP_FILL_DELAY_MS = 300;
const REFETCH_AFTER_MS = 1500;
const PENDING_LIVE_MAX = 20_000;
const MAX_PLAYS = 20_000;
const HEADER_EVENTS = 'playbook_on_play_start,playbook_on_task_start,playbook_on_handler_task_start,playbook_on_stats';


export interface JobEvent {
  id?: number;
  counter: number;
  stdout?: string;
  start_line?: number;
  end_line?: number;
  event?: string;
  uuid?: string;
  parent_uuid?: string;
  failed?: boolean;
  play?: string;
  task?: string;
  created?: string;
  modified?: string;
  event_data?: unknown;
}

interface Segment {
  index: number;
  present: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  kind: Uint8Array;
  /** Offset of a header event's title line within its lines (1 when stdout opens with a blank line). */
  headerAt: Uint8Array;
  stdout: (string | undefined)[];
  count: number;
  lastUsed: number;
  fetchedAt: number;
}


function kindOf(ev: JobEvent): Kind {
  switch (ev.event) {
    case 'playbook_on_play_start': return Kind.Play;
    case 'playbook_on_task_start':
    case 'playbook_on_handler_task_start': return Kind.Task;
    case 'playbook_on_stats': return Kind.Stats;
    default: return ev.failed ? Kind.Failed : Kind.Other;
  }
}

export class EventStore {
  readonly eventsUrl: string;
  #segments = new Map<number, Segment>();
  /** Per segment index: first line (or -1 unknown) and end line (exclusive). */
  #segFirst = new Int32Array(64).fill(-1);
  #segLast = new Int32Array(64).fill(-1);
  /** 1 when a segment was fetched whole and its range cannot grow. */
  #segComplete = new Uint8Array(64);
  #parsed = new Map<number, Line[]>();
  #inflight = new Map<number, Promise<void>>();
  #queue: number[] = [];
  #headers = new HeaderIndex();
  /** Every play and the recap are in #top (the play index was read to its end). */
  playsComplete = false;
  #playsAfter = 0;
  #playsLoading: Promise<void> | undefined;
  #clock = 0;
  #changed: () => void;
  #gapTimer: ReturnType<typeof setTimeout> | undefined;
  #pendingLive: JobEvent[] | undefined = [];
  #finished = false;
  #closed = false;

  totalLines = 0;
  maxCounter = 0;
  /** The tail is known (init done): until then `totalLines` only counts the first segment. */
  ready = false;
  #readyWaiters: (() => void)[] = [];
  /** Every counter ≤ highWater is held or was confirmed over REST after the live feed began. */
  highWater = 0;
  /** Counted for tests and the lag page: REST requests made, events dropped as duplicates. */
  stats = { requests: 0, duplicates: 0, inserted: 0, evicted: 0 };

  constructor(eventsUrl: string, onChange: () => void) {
    this.eventsUrl = eventsUrl;
    this.#changed = onChange;
  }

  get loadedSegments(): number { return this.#segments.size; }
  get headers(): readonly Header[] { return this.#headers.all; }
  /** Changes whenever a header is added (the view's hidden ranges depend on it). */
  get headersVersion(): number { return this.#headers.version; }

  /** First load: the last event (for the line count) then the caller's window. */
  async init(finished: boolean): Promise<void> {
    this.#finished = finished;
    try {
      // The first screen's segment loads beside the tail: one round trip to first lines, not two.
      const [last] = await Promise.all([this.#page({ order_by: '-counter', page_size: 1 }), this.#fetchSegment(0)]);
      const tail = last.results[0];
      if (tail) this.#insert(tail);
      // Then a finished job's play index, so "Collapse plays" is a render and does not wait on
      // the network: that wait (0.15–0.5 s on a loaded machine) was the whole of the first
      // fold's 146–825 ms. Not sooner: its recap would set the line count before the first
      // segment's anchors are in, and the first screen would be fetched from a guess.
      if (finished) void this.loadPlays().catch(() => { /* read again by the first "Collapse plays" */ });
    } catch {
      // Without the REST tail the view still shows live events; ensure() retries the rest.
    }
    this.highWater = this.maxCounter;
    this.ready = true;
    for (const wake of this.#readyWaiters.splice(0)) wake();
    const buffered = this.#pendingLive ?? [];
    this.#pendingLive = undefined;
    for (const ev of buffered) this.addLive(ev);
    this.#changed();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#gapTimer);
  }

  markFinished(): void {
    this.#finished = true;
    // Stragglers: events committed after the status change still arrive live; one fill catches any lost.
    this.fillGap(Number.MAX_SAFE_INTEGER);
  }

  /** A live event from the websocket. */
  addLive(ev: JobEvent): void {
    if (this.#pendingLive) {
      if (this.#pendingLive.length < PENDING_LIVE_MAX) this.#pendingLive.push(ev);
      return;
    }
    const c = ev.counter;
    if (!this.#insert(ev)) return;
    if (c === this.highWater + 1) {
      this.#advanceHighWater();
    } else if (c > this.highWater + 1 && !this.#gapTimer) {
      this.#gapTimer = setTimeout(() => { this.#gapTimer = undefined; this.fillGap(this.maxCounter); }, GAP_FILL_DELAY_MS);
    }
    this.#changed();
  }

  /** Fetches every counter in (highWater, upTo] over REST, page by page. */
  fillGap(upTo: number, from = this.highWater): void {
    // Before init() the tail is unknown and `from` would be 0: a fill then would read the whole job.
    if (this.#closed || this.#pendingLive) return;
    void (async () => {
      let after = from;
      for (;;) {
        const page = await this.#page({ counter__gt: after, counter__lte: upTo === Number.MAX_SAFE_INTEGER ? undefined : upTo, order_by: 'counter', page_size: SEG });
        for (const ev of page.results) this.#insert(ev);
        const last = page.results[page.results.length - 1];
        if (page.results.length < SEG || !last) {
          this.highWater = Math.max(this.highWater, Math.min(upTo, this.maxCounter));
          break;
        }
        after = last.counter;
        this.highWater = Math.max(this.highWater, after);
      }
      this.#advanceHighWater();
      this.#changed();
    })().catch(() => { /* the next live event or reconnect retries */ });
  }

  #advanceHighWater(): void {
    while (this.#has(this.highWater + 1)) this.highWater++;
  }

  #has(counter: number): boolean {
    const seg = this.#segments.get(Math.floor((counter - 1) / SEG));
    return !!seg && seg.present[(counter - 1) % SEG] === 1;
  }

  async #page(params: Record<string, string | number | undefined>): Promise<Page<JobEvent>> {
    this.stats.requests++;
    return get<Page<JobEvent>>(withQuery(this.eventsUrl, params));
  }

  /** Adds one event; false when its counter is already held (a duplicate). */
  #insert(ev: JobEvent): boolean {
    const c = Number(ev.counter);
    if (!(c >= 1)) return false;
    const index = Math.floor((c - 1) / SEG);
    const slot = (c - 1) % SEG;
    let seg = this.#segments.get(index);
    if (!seg) {
      seg = { index, present: new Uint8Array(SEG), start: new Int32Array(SEG), end: new Int32Array(SEG), kind: new Uint8Array(SEG), headerAt: new Uint8Array(SEG),
        stdout: new Array(SEG), count: 0, lastUsed: ++this.#clock, fetchedAt: 0 };
      this.#segments.set(index, seg);
      this.#evict();
    }
    if (seg.present[slot]) { this.stats.duplicates++; return false; }
    const start = ev.start_line ?? 0;
    const end = Math.max(start, ev.end_line ?? start);
    const kind = kindOf(ev);
    seg.present[slot] = 1;
    seg.start[slot] = start;
    seg.end[slot] = end;
    seg.kind[slot] = kind;
    const stdout = ev.stdout ?? '';
    const headerAt = end - start > 1 && /^\r?\n/.test(stdout) ? 1 : 0;
    seg.headerAt[slot] = headerAt;
    seg.stdout[slot] = end > start ? stdout : undefined;
    seg.count++;
    this.stats.inserted++;
    if (c > this.maxCounter) this.maxCounter = c;
    if (end > this.totalLines) this.totalLines = end;
    if (end > start) {
      this.#growAnchors(index);
      if (this.#segFirst[index] < 0 || start < this.#segFirst[index]) this.#segFirst[index] = start;
      if (end > this.#segLast[index]) this.#segLast[index] = end;
      if (kind === Kind.Play || kind === Kind.Task || kind === Kind.Stats) this.#headers.add({ line: start + headerAt, level: kind === Kind.Task ? 2 : 1, counter: c, kind });
    }
    if (seg.count === SEG) this.#segComplete[index] = 1;
    return true;
  }

  /** The header whose title is line `line`, if known. */
  headerAt(line: number): Header | undefined {
    return this.#headers.at(line);
  }

  /** The plays known (all of them once `playsComplete`). */
  plays(): Header[] {
    return this.#headers.plays();
  }

  #growAnchors(index: number): void {
    if (index < this.#segFirst.length) return;
    let size = this.#segFirst.length;
    while (size <= index) size *= 2;
    const grow = <T extends Int32Array | Uint8Array>(a: T, fill: number): T => {
      const b = new (a.constructor as { new(n: number): T })(size);
      b.fill(fill as never);
      b.set(a);
      return b;
    };
    this.#segFirst = grow(this.#segFirst, -1);
    this.#segLast = grow(this.#segLast, -1);
    this.#segComplete = grow(this.#segComplete, 0);
  }

  #evict(): void {
    if (this.#segments.size <= MAX_SEGMENTS) return;
    const tailIndex = Math.floor((this.maxCounter - 1) / SEG);
    let victim: Segment | undefined;
    for (const seg of this.#segments.values()) {
      if (seg.index >= tailIndex - 1) continue;
      if (!victim || seg.lastUsed < victim.lastUsed) victim = seg;
    }
    if (!victim) return;
    this.#segments.delete(victim.index);
    for (let i = 0; i < SEG; i++) this.#parsed.delete(victim.index * SEG + i + 1);
    this.stats.evicted++;
  }

  /** The segment index that holds `line`, exactly when anchors know it, else a best estimate. */
  #segmentFor(line: number): number | undefined {
    const n = Math.max(Math.floor((this.maxCounter - 1) / SEG) + 1, 1);
    let a = -1;
    let b = n;
    // Anchors are monotone in segment index: binary search over the known ones.
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      let k = mid;
      while (k <= hi && this.#segFirst[k] < 0) k++;
      if (k > hi) { hi = mid - 1; continue; }
      if (this.#segLast[k] <= line) { a = k; lo = k + 1; } else if (this.#segFirst[k] > line) { b = k; hi = mid - 1; } else return k;
    }
    if (b === a + 1) {
      if (a >= 0 && !this.#segComplete[a]) return a;
      if (b < n && !this.#segComplete[b]) return b;
      return undefined;
    }
    const fromLine = a >= 0 ? this.#segLast[a] : 0;
    const toLine = b < n ? this.#segFirst[b] : this.totalLines;
    const span = b - a - 1;
    const frac = toLine > fromLine ? (line - fromLine) / (toLine - fromLine) : 0;
    return Math.min(b - 1, a + 1 + Math.floor(frac * span));
  }

  /** The event (segment and slot) whose lines include `line`, if loaded. */
  #locate(line: number): { seg: Segment; slot: number } | undefined {
    const index = this.#segmentFor(line);
    if (index === undefined) return undefined;
    const seg = this.#segments.get(index);
    if (!seg) return undefined;
    seg.lastUsed = ++this.#clock;
    for (let slot = 0; slot < SEG; slot++) {
      if (seg.present[slot] && seg.start[slot] <= line && line < seg.end[slot]) return { seg, slot };
    }
    return undefined;
  }

  /** The rendered line, or undefined while it is not loaded. */
  line(line: number): { spans: Line; counter: number; kind: Kind; header: boolean } | undefined {
    const at = this.#locate(line);
    if (!at) return undefined;
    const { seg, slot } = at;
    const counter = seg.index * SEG + slot + 1;
    let lines = this.#parsed.get(counter);
    if (!lines) {
      lines = eventLines(seg.stdout[slot] ?? '', seg.end[slot] - seg.start[slot]);
      this.#parsed.set(counter, lines);
      if (this.#parsed.size > MAX_PARSED) this.#parsed.delete(this.#parsed.keys().next().value!);
    }
    const kind = seg.kind[slot] as Kind;
    const header = (kind === Kind.Play || kind === Kind.Task || kind === Kind.Stats) && line === seg.start[slot] + seg.headerAt[slot];
    return { spans: lines[line - seg.start[slot]] ?? [], counter, kind, header };
  }

  /** Plain text of a loaded line (for tests and copy). */
  text(line: number): string | undefined {
    const l = this.line(line);
    return l && l.spans.map((s) => s.text).join('');
  }

  /**
   * Makes sure the lines on screen get loaded; fetches the segments they need, 6 at a time.
   * Only the given lines are looked at — with sections collapsed, the screen's first and last
   * lines may be a million lines apart, and what lies between is hidden, not wanted.
   */
  ensure(lines: readonly number[]): void {
    const want = new Set<number>();
    for (const l of lines) {
      if (l < 0 || l >= this.totalLines) continue;
      if (this.#locate(l)) continue;
      const index = this.#segmentFor(l);
      if (index === undefined) continue;
      const seg = this.#segments.get(index);
      if (seg && Date.now() - seg.fetchedAt < REFETCH_AFTER_MS) continue;
      want.add(index);
    }
    // Only what is on screen now: segments queued for a position already scrolled past are
    // dropped, so flinging through a 1,000,000-line job does not queue 5,000 fetches.
    this.#queue = [...want].filter((index) => !this.#inflight.has(index));
    this.#pump();
  }

  #pump(): void {
    while (this.#inflight.size < MAX_PARALLEL && this.#queue.length) {
      const index = this.#queue.shift()!;
      const p = this.#fetchSegment(index).finally(() => {
        this.#inflight.delete(index);
        this.#pump();
      });
      this.#inflight.set(index, p);
    }
  }

  async #fetchSegment(index: number): Promise<void> {
    if (this.#closed) return;
    try {
      const page = await this.#page({ counter__gt: index * SEG, counter__lte: (index + 1) * SEG, order_by: 'counter', page_size: SEG });
      for (const ev of page.results) this.#insert(ev);
      const seg = this.#segments.get(index);
      if (seg) seg.fetchedAt = Date.now();
      // A finished job's segment fetched whole is final, holes included (dead-lettered counters).
      const lastIndex = Math.floor((this.maxCounter - 1) / SEG);
      if (this.#finished || index < lastIndex) this.#segComplete[index] = 1;
      if (!seg && this.#finished) {
        this.#growAnchors(index);
        this.#segComplete[index] = 1;
      }
    } catch {
      // Left to the next ensure(): the view asks again on its next frame.
    }
    this.#changed();
  }

  /**
   * The line where a header's section ends: the next header at its level or above, by binary
   * search over the known headers. Exact for a play once the play index is read
   * (`loadPlays`), and for a task once `loadSectionEnd` fetched the header that follows it.
   */
  nextHeaderLine(h: Header): number | undefined {
    return this.#headers.nextLine(h);
  }

  /**
   * The play index: every play start and the recap, read with AWX's `event__in` filter, 200
   * a page, resumable (a running job's later plays are read on the next call). Capped at
   * MAX_PLAYS headers so memory stays bounded whatever the job.
   */
  loadPlays(): Promise<void> {
    this.#playsLoading ??= (async () => {
      try {
        while (this.#headers.topCount < MAX_PLAYS && await this.#playsPage());
      } finally {
        this.#playsLoading = undefined;
      }
      this.#changed();
    })();
    return this.#playsLoading;
  }

  /** Reads the play index's next page; false when it was the last. */
  async #playsPage(): Promise<boolean> {
    const page = await this.#page({ event__in: 'playbook_on_play_start,playbook_on_stats', counter__gt: this.#playsAfter, order_by: 'counter', page_size: SEG });
    for (const ev of page.results) this.#insert(ev);
    const last = page.results[page.results.length - 1];
    if (last) this.#playsAfter = Math.max(this.#playsAfter, last.counter);
    if (page.results.length < SEG) { this.playsComplete = this.#finished; return false; }
    return true;
  }

  /** Fetches the header that ends a section (one filtered query), so collapsing it is exact. */
  async loadSectionEnd(h: Header): Promise<void> {
    if (h.level === 1) return this.playsComplete ? undefined : this.loadPlays();
    try {
      const page = await this.#page({ event__in: HEADER_EVENTS, counter__gt: h.counter, order_by: 'counter', page_size: 1 });
      const ev = page.results[0];
      if (ev) { this.#insert(ev); this.#changed(); }
    } catch { /* the section stays collapsed up to the next header known */ }
  }

  /** Lines containing `term` (see search.ts); events the search reads are kept. */
  async search(term: string, afterCounter: number, stdoutUrl?: string): Promise<SearchMatch[]> {
    // A match is placed among the job's lines: with the tail unknown the view has too few rows.
    if (!this.ready) await new Promise<void>((wake) => this.#readyWaiters.push(wake));
    const found = await searchOutput({ eventsUrl: this.eventsUrl, stdoutUrl, term, afterCounter, onEvent: (ev) => this.#insert(ev) });
    this.#changed();
    return found;
  }
}
