import type { Redis } from 'ioredis';
import { log } from '../log.js';
import { batchMessages } from './emit.js';
import { type BadEvent, type ParsedEvent, parseEvent, type ParseStats } from './parse-event.js';
import type { ReceiverMetrics } from './pipeline-metrics.js';
import { ACK_LUA, CLAIM_LUA, READ_MAX } from './claim-scripts.js';
import { prepareBatch, type PreparedBatch } from './prepare-batch.js';
import { classifyStoreError, type StoreContext, type StoreMode, storeBatch, type StoreOutcome } from './store-batch.js';
import { backoffMs, FAST } from '../backoff.js';
import type { WatchedGroups } from './watched-groups.js';

/**
 * One consume → store → ack → emit loop over two processing lists (slots) of its own (see
 * receiver.ts for the state machine). A slot is filled by claiming the whole intake list
 * (claim-scripts.ts), read in batches with LRANGE and acknowledged from its head as each
 * batch commits. Batches never span slots; up to two stores run at once and their acks go
 * in the order the batches were read. The slots in Redis are the truth: after any Redis
 * trouble the worker forgets its view of them and replays them.
 */

/** A slot as this worker last left it in Redis: indexes count items since the slot was filled. */
interface Slot {
  key: string;
  epochKey: string;
  /** The fill (claim) the slot holds: acks name it, so an ack never lands on a later fill. */
  epoch: number;
  /** Index of the slot's first item in Redis (everything before it is acknowledged). */
  head: number;
  /** Items in the slot in Redis. */
  len: number;
  /** Index of the next item not yet read. */
  read: number;
}

const emptySlot = (key: string): Slot => ({ key, epochKey: `${key}:epoch`, epoch: 0, head: 0, len: 0, read: 0 });
const unread = (s: Slot) => s.head + s.len - s.read;

export interface WorkerOptions {
  index: number;
  redis: Redis;
  queue: string;
  /** The worker's two processing lists (slots). */
  processingKeys: readonly [string, string];
  broadcastChannel: string;
  eventFrameChannel: string;
  batchSize: number;
  batchMs: number;
  store: StoreContext;
  metrics: ReceiverMetrics;
  /** Groups some websocket client watches: frames are built for these only. */
  watched: WatchedGroups;
  /** Shared by the process's workers: one of them at a time waits on the intake list. */
  idle: IdleWatch;
}

const IDLE_BLOCK_SECONDS = 1;
/** A claim smaller than this says the intake list is keeping up with the producers (#source). */
const SMALL_CLAIM = 100;

/**
 * One worker of a process at a time blocks on the intake list; the others wait for it here.
 * When every worker blocked, one pushed event woke them all (Redis serves every blocked
 * client while the list is non-empty), and all but one then claimed nothing and blocked
 * again: at a steady few thousand events per second, round trips for nothing on every batch.
 * The watcher keeps the watch until the claim after its wake-up has run, so the next watcher
 * blocks on what comes after it; a worker busy storing leaves the watch to one that is not.
 */
export class IdleWatch {
  #held = false;
  #parked: (() => void)[] = [];

  /** Takes the watch, waiting while another worker has it; false when `stop()` says to give up. */
  async acquire(stop: () => boolean): Promise<boolean> {
    while (this.#held) {
      await new Promise<void>((resolve) => this.#parked.push(resolve));
      if (stop()) return false;
    }
    this.#held = true;
    return true;
  }

  release(): void {
    this.#held = false;
    for (const wake of this.#parked.splice(0)) wake();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batch being filled from one slot: raw items in slot order from `first`, parsed as they arrive. */
interface OpenBatch {
  slot: 0 | 1;
  first: number;
  raw: Buffer[];
  items: (ParsedEvent | BadEvent)[];
  since: number;
}

const emptyBatch = (): OpenBatch => ({ slot: 0, first: 0, raw: [], items: [], since: 0 });

/** A store in flight: resolves once committed, acked and emitted, or to the Redis error that stopped the ack. */
type InFlight = Promise<Error | null>;

/**
 * Stores a worker runs at once (each its own transaction on its own Postgres connection;
 * their acks still go in slot order). Two keep Postgres busy while the other commits and
 * let one worker use the whole of a large claim.
 */
const STORES_IN_FLIGHT = 2;

class StaleSlot extends Error {}

export class ReceiverWorker {
  readonly #o: WorkerOptions;
  readonly #slots: [Slot, Slot];
  #open = emptyBatch();
  #inFlight: InFlight[] = [];
  #replay = true;
  #closing = false;
  /** This worker has the idle watch (IdleWatch): from its wait on the intake list to the claim after it. */
  #watching = false;
  /** Items the last claim read along with it (claim-scripts.ts): the open batch takes them instead of an LRANGE. */
  #claimed: Buffer[] | undefined;
  /** Size of the last claim (how much had gathered on the intake list); see #source. */
  #lastClaim = Infinity;
  #destroyed = false;
  #done: Promise<void> | undefined;
  readonly #parseStats: ParseStats = { invalidUtf8: 0, badCreated: 0 };

  constructor(options: WorkerOptions) {
    this.#o = options;
    this.#slots = [emptySlot(options.processingKeys[0]), emptySlot(options.processingKeys[1])];
  }

  start(): Promise<void> {
    this.#done ??= this.#run();
    return this.#done;
  }

  /** Graceful: stores what it has claimed (in flight, open, and unread in its slots), then stops. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#done;
  }

  /** Forceful: stops at once; held events stay in the processing lists for the next start. */
  destroy(): void {
    this.#closing = true;
    this.#destroyed = true;
  }

  #stage(stage: string, ms: number): void {
    this.#o.metrics.stageSeconds.inc(ms / 1000, { stage });
  }

  async #run(): Promise<void> {
    let redisAttempt = 0;
    while (!this.#destroyed) {
      try {
        if (this.#replay) await this.#replayHeld();
        const stop = await this.#fill();
        if (stop) break;
        redisAttempt = 0;
      } catch (err) {
        this.#releaseWatch();
        this.#claimed = undefined;
        if (this.#destroyed) break;
        this.#o.metrics.retries.inc(1, { cause: 'redis' });
        log.warn('receiver worker Redis trouble; re-reading its processing lists', { worker: this.#o.index, err: (err as Error).message });
        this.#replay = true;
        if (!(err instanceof StaleSlot)) await sleep(backoffMs(redisAttempt++, FAST));
      }
    }
    this.#releaseWatch();
    // destroy(): a store in flight finishes or fails on its own; its slot is replayed next start.
  }

  #releaseWatch(): void {
    if (!this.#watching) return;
    this.#watching = false;
    this.#o.idle.release();
  }

  /**
   * REPLAY: whatever a previous run (or the attempt before a Redis error) left in either
   * slot is stored in dedup mode and acked, a batch at a time, before anything new is taken.
   */
  async #replayHeld(): Promise<void> {
    const failed = await this.#awaitInFlight();
    if (failed) log.debug('ack of a batch in flight failed; its slot is replayed', { worker: this.#o.index, err: failed.message });
    const redis = this.#o.redis;
    for (const index of [0, 1] as const) {
      const slot = emptySlot(this.#slots[index].key);
      this.#slots[index] = slot;
      const [epoch, len] = await redis.pipeline().get(slot.epochKey).llen(slot.key).exec()
        .then((r) => (r ?? []).map(([err, v]) => { if (err) throw err; return Number(v) || 0; }));
      Object.assign(slot, { epoch, len });
      if (len) log.info('replaying un-acknowledged events', { worker: this.#o.index, events: len });
      while (slot.len > 0) {
        const raw = await redis.lrangeBuffer(slot.key, 0, READ_MAX - 1);
        if (!raw.length) throw new Error(`processing list ${slot.key} emptied under the worker`);
        slot.read += raw.length;
        const err = await this.#commit({ slot: index, first: slot.head, raw, items: this.#parse(raw), since: Date.now() }, 'dedup');
        if (err) throw err;
      }
    }
    this.#open = emptyBatch();
    this.#replay = false;
  }

  /**
   * FILL / IDLE / CLOSED. Reads into the open batch; while a store is in flight, keeps
   * reading (and parsing, and preparing) until the open batch is full or nothing more is at
   * hand, so under load batches grow to what arrived during the COPY, and when idle each
   * flushes at once. Returns true when closing and everything claimed is stored.
   */
  async #fill(): Promise<boolean> {
    const o = this.#o;
    const open = this.#open;
    const want = Math.min(READ_MAX, o.batchSize - open.raw.length);
    let drained = false;
    if (want > 0) {
      const t0 = performance.now();
      const source = await this.#source(want);
      this.#releaseWatch();
      if (source < 0) drained = true;
      else {
        const slot = this.#slots[source];
        const n = Math.min(want, unread(slot));
        const from = slot.read - slot.head;
        if (!open.raw.length) Object.assign(open, { slot: source, first: slot.read });
        slot.read += n;
        const got = this.#claimed ?? await o.redis.lrangeBuffer(slot.key, from, from + n - 1);
        this.#claimed = undefined;
        if (got.length !== n) throw new StaleSlot(`slot ${slot.key} holds fewer items than expected`);
        this.#take(got);
      }
      this.#stage('pop', performance.now() - t0);
    }
    const full = open.raw.length >= o.batchSize;
    let prepared: PreparedBatch | undefined;
    if (this.#inFlight.length >= STORES_IN_FLIGHT) {
      if (!full && !drained) return false;
      // One batch ahead, no further: prepare it while the COPYs in flight run, then wait
      // for the oldest.
      if (open.raw.length) prepared = await this.#prepare(open);
      const t0 = performance.now();
      const err = await this.#inFlight.shift();
      this.#stage('wait', performance.now() - t0);
      if (err) throw err;
    }
    if (open.raw.length && (full || drained || Date.now() - open.since >= o.batchMs)) {
      this.#open = emptyBatch();
      this.#inFlight.push(this.#commit(open, 'fast', prepared, this.#inFlight.at(-1)));
      return false;
    }
    if (drained && !open.raw.length) {
      // Nothing at hand: let the stores in flight finish first (their acks need this
      // connection, which the idle BLMOVE would hold for up to a second).
      if (this.#inFlight.length) {
        const err = await this.#awaitInFlight();
        if (err) throw err;
        return false;
      }
      if (this.#closing) return true;
      // IDLE: block until the intake list has an item. BLMOVE of the list onto itself
      // takes nothing (it moves one item from head to tail: order within a job does not
      // matter downstream), so the claim that follows takes whatever arrived. One worker
      // at a time (IdleWatch); it keeps the watch until that claim.
      const t0 = performance.now();
      if (await o.idle.acquire(() => this.#closing || this.#destroyed)) {
        this.#watching = true;
        await o.redis.blmove(o.queue, o.queue, 'LEFT', 'RIGHT', IDLE_BLOCK_SECONDS);
      }
      this.#stage('idle', performance.now() - t0);
    }
    return false;
  }

  /**
   * The slot the open batch reads from next, or -1 when nothing is at hand. A batch never
   * spans slots: an open batch whose slot is used up is flushed first. With no unread item
   * in either slot, the intake list is claimed into an empty slot (not when closing), and
   * its first `want` items come with the claim (#claimed).
   */
  async #source(want: number): Promise<number> {
    const open = this.#open;
    if (open.raw.length) return unread(this.#slots[open.slot]) > 0 ? open.slot : -1;
    for (const i of [0, 1] as const) if (unread(this.#slots[i]) > 0) return i;
    if (this.#closing) return -1;
    const free = this.#slots.findIndex((s) => s.len === 0);
    if (free < 0) return -1;
    // After a small claim the intake list is most likely empty again (a steady rate: a few
    // dozen events each time); asking would be a round trip for nothing before IDLE. Wait
    // on it instead (IDLE; a non-empty list wakes it at once) and claim after the wake-up.
    // After a large claim (a backlog) ask at once, while the stores in flight run.
    if (this.#lastClaim < SMALL_CLAIM && !this.#watching) return -1;
    const slot = this.#slots[free];
    const reply = await this.#o.redis.callBuffer('EVAL', CLAIM_LUA, 3, this.#o.queue, slot.key, slot.epochKey, want) as
      [number, number, ...Buffer[]];
    const [n, epoch] = reply;
    if (n < 0) throw new StaleSlot(`slot ${slot.key} is not empty`);
    this.#lastClaim = n;
    if (n === 0) return -1;
    Object.assign(slot, { epoch, head: 0, len: n, read: 0 });
    this.#claimed = reply.slice(2) as Buffer[];
    return free;
  }

  #take(got: Buffer[]): void {
    const open = this.#open;
    if (!open.raw.length) open.since = Date.now();
    for (const b of got) open.raw.push(b);
    const parsed = this.#parse(got);
    for (const p of parsed) open.items.push(p);
    this.#o.metrics.popped.inc(got.length);
  }

  #parse(raw: Buffer[]): (ParsedEvent | BadEvent)[] {
    const t0 = performance.now();
    const out = raw.map((b) => parseEvent(b, this.#parseStats));
    this.#stage('parse', performance.now() - t0);
    return out;
  }

  /** Jobs resolved, partitions ensured, rows encoded; a Postgres outage is waited out (unless destroyed). */
  async #prepare(batch: OpenBatch): Promise<PreparedBatch> {
    const o = this.#o;
    const t0 = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const prepared = await prepareBatch(o.store, batch.items);
        this.#stage('prepare', performance.now() - t0);
        return prepared;
      } catch (err) {
        if (this.#destroyed) throw err;
        o.metrics.retries.inc(1, { cause: 'connection' });
        log.warn('preparing a batch failed; retrying', { worker: o.index, attempt, err: (err as Error).message });
        await sleep(backoffMs(attempt, FAST));
      }
    }
  }

  /** Waits for every store in flight; resolves to the first ack error among them, if any. */
  async #awaitInFlight(): Promise<Error | null> {
    let first: Error | null = null;
    for (const f of this.#inFlight.splice(0)) first ??= await f;
    return first;
  }

  /**
   * FLUSH: prepare, store (retrying until it commits), then ack the batch and emit the
   * committed rows in one Redis round trip (ack first: pipelines run in order on one
   * connection). Never rejects: a Redis error is returned for the loop to replay.
   */
  async #commit(batch: OpenBatch, firstMode: StoreMode, ready?: PreparedBatch, previous?: InFlight): Promise<Error | null> {
    const o = this.#o;
    let prepared: PreparedBatch;
    try {
      prepared = ready ?? await this.#prepare(batch);
    } catch (err) {
      return err as Error;
    }
    let mode = firstMode;
    let outcome: StoreOutcome;
    for (let attempt = 0; ;) {
      try {
        outcome = await storeBatch(o.store, prepared, mode);
        break;
      } catch (err) {
        const kind = classifyStoreError(err);
        o.metrics.retries.inc(1, { cause: kind });
        if (kind === 'duplicate') { mode = 'dedup'; continue; }
        if (kind === 'data') { mode = 'isolate'; continue; }
        // Postgres unreachable or the connection died: wait and retry, in dedup mode since
        // the failed attempt's COMMIT may have landed. Even when closing: a held batch is
        // stored before the worker stops, or left in its processing list by destroy().
        if (this.#destroyed) return err as Error;
        log.warn('storing a batch failed; retrying', { worker: o.index, attempt, err: (err as Error).message });
        mode = 'dedup';
        await sleep(backoffMs(attempt++, FAST));
      }
    }
    const s = outcome.stageMs;
    this.#stage('begin', s.begin);
    this.#stage('copy', s.copy);
    this.#stage('wrapup', s.wrapup);
    this.#stage('commit', s.commit);
    // Ack: the batch leaves Redis for good only now that it is committed; emit after it.
    // The slot's view moves on as the ack is sent: commands on one connection run in the
    // order sent, so every LRANGE sent after this one already sees the slot trimmed.
    const t1 = performance.now();
    const slot = this.#slots[batch.slot];
    try {
      // Acks go in the order the batches were read: after the previous store's.
      if (previous && await previous) throw new StaleSlot('the batch before this one was not acknowledged');
      if (slot.head !== batch.first) throw new StaleSlot(`batch at ${batch.first} is not at the head (${slot.head}) of ${slot.key}`);
      const pipe = o.redis.pipeline().eval(ACK_LUA, 2, slot.key, slot.epochKey, batch.raw.length, slot.len, slot.epoch);
      slot.head += batch.raw.length;
      slot.len -= batch.raw.length;
      const { frames, messages } = batchMessages(outcome, (g) => o.watched.has(g));
      for (const f of frames) pipe.publish(o.eventFrameChannel, f);
      for (const m of messages) pipe.publish(o.broadcastChannel, m);
      const replies = (await pipe.exec()) ?? [];
      if (replies[0]?.[0]) throw replies[0][0];
      if (replies[0]?.[1] !== 1) throw new StaleSlot(`ack of ${slot.key} found it changed`);
      for (let i = 1; i < replies.length; i++) {
        if (replies[i][0]) {
          o.metrics.broadcastFailures.inc();
          log.warn('broadcast failed after commit', { err: replies[i][0]!.message });
        }
      }
    } catch (err) {
      this.#record(batch, outcome);
      return err as Error;
    }
    this.#stage('ack_emit', performance.now() - t1);
    this.#record(batch, outcome);
    return null;
  }

  #record(batch: OpenBatch, outcome: StoreOutcome): void {
    const m = this.#o.metrics;
    m.batches.inc();
    m.batchSize.observe(batch.raw.length);
    m.copySeconds.observe(outcome.copyMs / 1000);
    m.inserted.inc(outcome.stored.length);
    m.duplicates.inc(outcome.duplicates);
    for (const d of outcome.dead) m.deadLettered.inc(1, { reason: d.code });
    const modifiedMs = Date.parse(outcome.modified);
    for (const s of outcome.stored) m.lagSeconds.observe(Math.max(0, modifiedMs - s.e.createdMs) / 1000);
    const enc = this.#o.store.encodeStats;
    m.nulStripped.inc(enc.nulStripped);
    enc.nulStripped = 0;
    m.invalidUtf8.inc(this.#parseStats.invalidUtf8);
    m.badCreated.inc(this.#parseStats.badCreated);
    this.#parseStats.invalidUtf8 = 0;
    this.#parseStats.badCreated = 0;
  }
}
