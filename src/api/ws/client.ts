import type { WebSocket } from '@trufflesuite/uws-js-unofficial';
import type { AuthenticatedUser } from '../auth.js';
import { type Frame, GroupQueue, type MissedRange } from './group-queue.js';

/**
 * One websocket connection: who it is, its per-group bounded queues, and the drain loop
 * that moves frames from the queues to the socket as fast as the socket takes them.
 *
 * Drain: while uWS holds less than HIGH_WATER_BYTES unsent, take frames round-robin across
 * the groups (one group's flood cannot starve `jobs-status_changed`) and send them inside
 * one cork (one syscall per burst). When uWS holds more, stop; its `drain` event calls
 * `flush()` again. So the socket's buffer is bounded by HIGH_WATER_BYTES plus one frame,
 * and everything else waits in the bounded GroupQueues, where overflow is counted.
 */

/** 256 KB: enough in flight to fill a LAN socket between drain events, small enough × 1,000 clients. */
export const HIGH_WATER_BYTES = 256 * 1024;
/** A batched frame carries at most this many messages (≈ 256 KB of typical 1 KB events). */
export const BATCH_MAX_MESSAGES = 256;
/** Close code for a client that stayed over capacity too long (private range 4000–4999). */
export const CLOSE_OVER_CAPACITY = 4008;

export interface ClientData {
  client?: WsClient;
  user: AuthenticatedUser;
  /** The csrftoken cookie at connect time: what `xrftoken` must equal. */
  csrfCookie: string | undefined;
  /** Authenticated by an Authorization header (basic/bearer), which a browser never sends cross-site. */
  headerAuth: boolean;
}

/** Counters already sent from the database for a resumed group (resume.ts). */
export interface SentCounters { has(counter: number): boolean }

export interface SeamFilter {
  sent: SentCounters;
  /** Epoch ms after which the filter is dropped. */
  until: number;
}

export interface ResumeBuffer {
  /** Live frames of the group that arrive while stored events are read. */
  pending: GroupQueue;
}

export class WsClient {
  readonly ws: WebSocket<ClientData>;
  readonly user: AuthenticatedUser;
  readonly queues = new Map<string, GroupQueue>();
  /** Groups being resumed: live frames go to the buffer until the seam. */
  readonly resuming = new Map<string, ResumeBuffer>();
  /** After a resume's seam: live frames of events already sent from the database are dropped. */
  readonly seamFilters = new Map<string, SeamFilter>();
  batch = false;
  closed = false;
  /** Serialises this client's incoming messages (subscription checks are async). */
  inbox: Promise<void> = Promise.resolve();
  #rotate = 0;
  #sent = 0;
  /** The queues as an array for the drain loop, rebuilt only when the groups change. */
  #queueList: GroupQueue[] | undefined;

  constructor(ws: WebSocket<ClientData>, readonly queueSize: number) {
    this.ws = ws;
    this.user = ws.getUserData().user;
  }

  get groups(): string[] { return [...this.queues.keys()]; }

  newQueue(group: string): GroupQueue {
    return new GroupQueue(this.queueSize, (missed) => overCapacityNotice(group, missed));
  }

  join(group: string): void {
    if (!this.queues.has(group)) { this.queues.set(group, this.newQueue(group)); this.#queueList = undefined; }
  }

  leave(group: string): void {
    this.queues.get(group)?.clear();
    this.queues.delete(group);
    this.#queueList = undefined;
    this.resuming.delete(group);
    this.seamFilters.delete(group);
  }

  /** Queues a frame for a group this client is in; false when it was dropped over capacity. */
  enqueue(group: string, frame: Frame, counter: number, now: number): boolean {
    const resume = this.resuming.get(group);
    if (resume) return resume.pending.push(frame, counter, now);
    if (this.seamFilters.size !== 0 && counter >= 0) {
      const filter = this.seamFilters.get(group);
      if (filter && now > filter.until) this.seamFilters.delete(group);
      else if (filter && filter.sent.has(counter)) return true;
    }
    const queue = this.queues.get(group);
    return queue ? queue.push(frame, counter, now) : true;
  }

  /** Sends one frame outside the queues (handshake replies, errors): tiny and rare. */
  sendNow(message: unknown): void {
    if (this.closed) return;
    this.ws.send(JSON.stringify(message), false);
  }

  /** Moves queued frames to the socket until it pushes back. Returns frames sent. */
  flush(): number {
    if (this.closed || this.ws.getBufferedAmount() >= HIGH_WATER_BYTES) return 0;
    const before = this.#sent;
    this.ws.cork(() => this.#drain());
    return this.#sent - before;
  }

  #drain(): void {
    const queues = this.#queueList ??= [...this.queues.values()];
    const n = queues.length;
    if (n === 0) return;
    let idle = 0;
    // Round-robin, a bounded slice per group per turn, until every queue is empty or uWS is full.
    for (let i = this.#rotate % n; idle < n; i = (i + 1) % n) {
      const q = queues[i];
      if (q.size === 0) { idle++; continue; }
      idle = 0;
      if (this.batch) {
        const parts: Frame[] = [];
        while (q.size > 0 && parts.length < BATCH_MAX_MESSAGES) parts.push(q.shift()!);
        this.ws.send(batchFrame(parts), false);
        this.#sent += parts.length;
      } else {
        for (let k = 0; k < 64 && q.size > 0; k++) { this.ws.send(q.shift()!, false); this.#sent++; }
      }
      if (this.ws.getBufferedAmount() >= HIGH_WATER_BYTES) { this.#rotate = i + 1; return; }
    }
  }

  /**
   * Closes a client that stayed over capacity too long: first one notice per group naming
   * everything it will not get (queued and dropped), so it knows what to fetch over REST,
   * then the close frame with CLOSE_OVER_CAPACITY. Both go behind whatever uWS already
   * buffers, under maxBackpressure.
   */
  closeOverCapacity(): void {
    if (this.closed) return;
    this.ws.cork(() => {
      for (const [group, q] of this.queues) {
        const pending = this.resuming.get(group)?.pending;
        const missed = q.undelivered();
        if (pending) {
          const p = pending.undelivered();
          missed.count += p.count;
          if (p.counters) {
            missed.counters = missed.counters
              ? [Math.min(missed.counters[0], p.counters[0]), Math.max(missed.counters[1], p.counters[1])] : p.counters;
          }
        }
        if (missed.count) this.ws.send(overCapacityNotice(group, missed), false);
      }
    });
    this.closed = true;
    this.ws.end(CLOSE_OVER_CAPACITY, 'over capacity: messages were dropped for too long');
  }

  /** Total queued frames (for the depth gauge). */
  depth(): number {
    let d = 0;
    for (const q of this.queues.values()) d += q.size;
    for (const r of this.resuming.values()) d += r.pending.size;
    return d;
  }

  /** Queued frames of one group (live queue and resume buffer). */
  groupDepth(group: string): number {
    return (this.queues.get(group)?.size ?? 0) + (this.resuming.get(group)?.pending.size ?? 0);
  }

  /** The earliest start of an overflow episode still open, or 0. */
  overflowingSince(): number {
    let since = 0;
    for (const q of this.queues.values()) {
      if (q.state === 'overflowing' && (since === 0 || q.overflowSince < since)) since = q.overflowSince;
    }
    for (const r of this.resuming.values()) {
      const q = r.pending;
      if (q.state === 'overflowing' && (since === 0 || q.overflowSince < since)) since = q.overflowSince;
    }
    return since;
  }
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** A batched frame: the messages as one JSON array, copied side by side (never re-serialized). */
function batchFrame(parts: Frame[]): Frame {
  if (parts.every((p) => typeof p === 'string')) return `[${parts.join(',')}]`;
  const list: Buffer[] = [OPEN];
  for (let i = 0; i < parts.length; i++) {
    if (i) list.push(COMMA);
    const p = parts[i];
    list.push(typeof p === 'string' ? Buffer.from(p) : p);
  }
  list.push(CLOSE);
  return Buffer.concat(list);
}

/**
 * The `control` message that tells a client what it missed, where it missed it: fetch
 * `/api/v2/jobs/N/job_events/?counter__gte=from&counter__lte=to` to fill the hole.
 */
export function overCapacityNotice(group: string, missed: MissedRange): string {
  return JSON.stringify({
    group_name: 'control', type: 'over_capacity', group,
    missed_counters: missed.counters, missed_messages: missed.count,
  });
}
