/**
 * One client's bounded queue for one group: a fixed ring of ready-to-send frames (bytes or
 * strings shared by every client of the group, so a queued frame costs this client one slot).
 *
 * States:
 *   LIVE         room in the ring: `push` appends.
 *   OVERFLOWING  the ring was full when a frame arrived: that frame and every later one is
 *                dropped and its counter folded into `missed` (lowest/highest counter, count),
 *                `overflowSince` remembers when it began.
 *                → LIVE when `shift` brings the depth down to half the bound: a notice frame
 *                naming the missed range is appended first, so the client reads it exactly
 *                where the hole is (queued frames before it, newer frames after it). Half,
 *                not "one slot free", so a client hovering at the bound gets one notice per
 *                episode instead of one per message.
 *
 * The ring starts at 16 slots and doubles as needed, never past `capacity` + 1: memory per
 * (client, group) is bounded by the bound whatever happens, but an idle or keeping-up
 * client costs 16 slots, not 10,001. (Allocating the full ring up front cost 160 KB per
 * (client, group): 320 MB for bench (b)'s 1,000 clients in two groups each, and the GC
 * time to match.) Frames are stored with their event counter (-1 for messages without one).
 */
const INITIAL_SLOTS = 16;

/** A websocket message ready to send: bytes sliced from a bus frame (bus-frame.ts), or JSON text. */
export type Frame = string | Buffer;

export interface MissedRange {
  /** Lowest and highest dropped counter, or null when the dropped messages carry none. */
  counters: [number, number] | null;
  count: number;
}

export type QueueState = 'live' | 'overflowing';

export class GroupQueue {
  readonly capacity: number;
  #frames: (Frame | undefined)[];
  #counters: Float64Array;
  /** capacity + 1: the notice that ends an episode always finds room. */
  readonly #maxSlots: number;
  #head = 0;
  #size = 0;
  #state: QueueState = 'live';
  #missedLow = Infinity;
  #missedHigh = -Infinity;
  #missedCount = 0;
  overflowSince = 0;
  /** Frames dropped over this queue's life (for metrics). */
  droppedTotal = 0;

  constructor(capacity: number, readonly makeNotice: (missed: MissedRange) => Frame) {
    this.capacity = capacity;
    this.#maxSlots = capacity + 1;
    const slots = Math.min(INITIAL_SLOTS, this.#maxSlots);
    this.#frames = new Array<Frame | undefined>(slots).fill(undefined);
    this.#counters = new Float64Array(slots);
  }

  get size(): number { return this.#size; }
  get state(): QueueState { return this.#state; }

  /** Appends a frame; returns false when it was dropped (queue over capacity). */
  push(frame: Frame, counter: number, now: number): boolean {
    if (this.#state === 'live' && this.#size < this.capacity) {
      this.#append(frame, counter);
      return true;
    }
    if (this.#state === 'live') {
      this.#state = 'overflowing';
      this.overflowSince = now;
    }
    this.#missedCount++;
    this.droppedTotal++;
    if (counter >= 0) {
      if (counter < this.#missedLow) this.#missedLow = counter;
      if (counter > this.#missedHigh) this.#missedHigh = counter;
    }
    return false;
  }

  peekCounter(): number { return this.#counters[this.#head]; }

  /** Removes and returns the oldest frame, or undefined when empty. */
  shift(): Frame | undefined {
    if (this.#size === 0) return undefined;
    const frame = this.#frames[this.#head];
    this.#frames[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#frames.length;
    this.#size--;
    if (this.#state === 'overflowing' && this.#size <= this.capacity >> 1) this.#endOverflow();
    return frame;
  }

  /** Ends an overflow episode now (used when a queue is handed over at the resume seam). */
  takeMissed(): MissedRange | undefined {
    if (this.#state !== 'overflowing') return undefined;
    const missed = this.#missed();
    this.#reset();
    return missed;
  }

  /**
   * Everything this queue will now never deliver — queued and dropped — for the last
   * notice before the server closes an over-capacity client.
   */
  undelivered(): MissedRange {
    let low = this.#missedLow;
    let high = this.#missedHigh;
    for (let i = 0; i < this.#size; i++) {
      const c = this.#counters[(this.#head + i) % this.#frames.length];
      if (c < 0) continue;
      if (c < low) low = c;
      if (c > high) high = c;
    }
    return { counters: high >= 0 ? [low, high] : null, count: this.#size + this.#missedCount };
  }

  /** Removes every frame (leaving a group). */
  clear(): void {
    this.#frames = new Array<Frame | undefined>(Math.min(INITIAL_SLOTS, this.#maxSlots)).fill(undefined);
    this.#counters = new Float64Array(this.#frames.length);
    this.#head = 0;
    this.#size = 0;
    this.#reset();
  }

  #endOverflow(): void {
    const notice = this.makeNotice(this.#missed());
    this.#reset();
    this.#append(notice, -1);
  }

  #missed(): MissedRange {
    return {
      counters: this.#missedHigh >= 0 ? [this.#missedLow, this.#missedHigh] : null,
      count: this.#missedCount,
    };
  }

  #reset(): void {
    this.#state = 'live';
    this.#missedLow = Infinity;
    this.#missedHigh = -Infinity;
    this.#missedCount = 0;
    this.overflowSince = 0;
  }

  #append(frame: Frame, counter: number): void {
    if (this.#size === this.#frames.length) this.#grow();
    const tail = (this.#head + this.#size) % this.#frames.length;
    this.#frames[tail] = frame;
    this.#counters[tail] = counter;
    this.#size++;
  }

  /** Doubles the ring (up to capacity + 1 slots), unrolling it so the oldest frame is at 0. */
  #grow(): void {
    const n = this.#frames.length;
    const slots = Math.min(n * 2, this.#maxSlots);
    const frames = new Array<Frame | undefined>(slots).fill(undefined);
    const counters = new Float64Array(slots);
    for (let i = 0; i < this.#size; i++) {
      const from = (this.#head + i) % n;
      frames[i] = this.#frames[from];
      counters[i] = this.#counters[from];
    }
    this.#frames = frames;
    this.#counters = counters;
    this.#head = 0;
  }
}
