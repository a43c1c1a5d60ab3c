import type { Redis } from 'ioredis';
import { log } from '../log.js';
import { batchMessages } from './emit.js';
import { type BadEvent, type ParsedEvent, parseEvent, type ParseStats } from './parse-event.js';
import type { ReceiverMetrics } from './pipeline-metrics.js';
import { POP_BATCH_MAX } from './pop-batch-script.js';
import { prepareBatch, type PreparedBatch } from './prepare-batch.js';
import { classifyStoreError, type StoreContext, type StoreMode, storeBatch, type StoreOutcome } from './store-batch.js';

/**
 * One consume → store → ack → emit loop, pipelined one batch deep, with two processing
 * lists (slots) of its own (see receiver.ts for the state machine). The batch being
 * stored lives in one slot, the batch being filled in the other; each slot is acked whole
 * with DEL, which stays idempotent when Redis replays a command after a reconnect. The
 * processing lists are the truth: after any Redis trouble both are re-read from Redis.
 */
type BatchRedis = Redis & {
  psPopBatchBuffer(queue: string, processing: string, count: number, have: number): Promise<Buffer[]>;
};

export interface WorkerOptions {
  index: number;
  redis: Redis;
  queue: string;
  /** The worker's two processing lists; batches alternate between them. */
  processingKeys: readonly [string, string];
  broadcastChannel: string;
  batchSize: number;
  batchMs: number;
  store: StoreContext;
  metrics: ReceiverMetrics;
}

const IDLE_BLOCK_SECONDS = 1;

export function backoffMs(attempt: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 100);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batch being filled: raw items mirror its processing list; parsed as they arrive. */
interface OpenBatch {
  slot: 0 | 1;
  raw: Buffer[];
  items: (ParsedEvent | BadEvent)[];
  since: number;
}

/** A store in flight: resolves once committed, acked and emitted, or to the Redis error that stopped the ack. */
type InFlight = Promise<Error | null>;

export class ReceiverWorker {
  readonly #o: WorkerOptions;
  readonly #redis: BatchRedis;
  #open: OpenBatch = { slot: 0, raw: [], items: [], since: 0 };
  #inFlight: InFlight | null = null;
  #replay = true;
  #closing = false;
  #destroyed = false;
  #done: Promise<void> | undefined;
  readonly #parseStats: ParseStats = { invalidUtf8: 0, badCreated: 0 };

  constructor(options: WorkerOptions) {
    this.#o = options;
    this.#redis = options.redis as BatchRedis;
  }

  start(): Promise<void> {
    this.#done ??= this.#run();
    return this.#done;
  }

  /** Graceful: finishes the batches in hand (stored and acked), then stops. */
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
        if (this.#closing) {
          await this.#closeOpen();
          break;
        }
        await this.#fill();
        redisAttempt = 0;
      } catch (err) {
        if (this.#destroyed) break;
        this.#o.metrics.retries.inc(1, { cause: 'redis' });
        log.warn('receiver worker Redis trouble; re-reading its processing lists', { worker: this.#o.index, err: (err as Error).message });
        this.#replay = true;
        await sleep(backoffMs(redisAttempt++));
      }
    }
    // destroy(): a store in flight finishes or fails on its own; its slot is replayed next start.
  }

  /**
   * REPLAY: whatever a previous run (or the attempt before a Redis error) left un-acked in
   * either slot is stored in dedup mode and acked, before anything new is taken.
   */
  async #replayHeld(): Promise<void> {
    const failed = await this.#awaitInFlight(false);
    if (failed) log.debug('ack of the batch in flight failed; its slot is replayed', { worker: this.#o.index });
    for (const slot of [0, 1] as const) {
      const raw = await this.#o.redis.lrangeBuffer(this.#o.processingKeys[slot], 0, -1);
      if (!raw.length) continue;
      log.info('replaying un-acknowledged events', { worker: this.#o.index, events: raw.length });
      const err = await this.#commit({ slot, raw, items: this.#parse(raw), since: Date.now() }, 'dedup');
      if (err) throw err;
    }
    this.#open = { slot: 0, raw: [], items: [], since: 0 };
    this.#replay = false;
  }

  /** CLOSED: the open batch (and anything BLMOVE moved into its slot meanwhile) is stored before the loop ends. */
  async #closeOpen(): Promise<void> {
    const err = await this.#awaitInFlight(true);
    if (err) throw err;
    const open = this.#open;
    const late = await this.#o.redis.lrangeBuffer(this.#o.processingKeys[open.slot], open.raw.length, -1);
    if (late.length) this.#take(late);
    if (open.raw.length) {
      const failed = await this.#commit(open, 'fast');
      if (failed) throw failed;
    }
  }

  /**
   * FILL / IDLE. Pops into the open batch; while a store is in flight, keeps popping (and
   * parsing, and preparing) until the open batch is full or the list runs dry, so under
   * load batches grow to what arrived during the COPY, and when idle each flushes at once.
   */
  async #fill(): Promise<void> {
    const o = this.#o;
    const open = this.#open;
    const want = Math.min(POP_BATCH_MAX, o.batchSize - open.raw.length);
    let drained = false;
    if (want > 0) {
      const t0 = performance.now();
      const got = await this.#redis.psPopBatchBuffer(o.queue, o.processingKeys[open.slot], want, open.raw.length);
      this.#stage('pop', performance.now() - t0);
      if (got.length) this.#take(got);
      drained = got.length < want;
    }
    const full = open.raw.length >= o.batchSize;
    let prepared: PreparedBatch | undefined;
    if (this.#inFlight) {
      if (!full && !drained) return;
      // One batch ahead, no further: prepare it while the COPY in flight runs, then wait.
      if (open.raw.length) prepared = await this.#prepare(open);
      const t0 = performance.now();
      const err = await this.#awaitInFlight(true);
      this.#stage('wait', performance.now() - t0);
      if (err) throw err;
    }
    if (open.raw.length && (full || drained || Date.now() - open.since >= o.batchMs)) {
      this.#open = { slot: open.slot === 0 ? 1 : 0, raw: [], items: [], since: 0 };
      this.#inFlight = this.#commit(open, 'fast', prepared);
      return;
    }
    if (drained && !open.raw.length && !this.#closing) {
      // IDLE: block until an item arrives (moved into the open slot by BLMOVE; the next
      // psPopBatch call returns it with any that followed). Nothing is in flight here, so
      // the connection is not needed for an ack meanwhile.
      const t0 = performance.now();
      await o.redis.blmove(o.queue, o.processingKeys[open.slot], 'LEFT', 'RIGHT', IDLE_BLOCK_SECONDS);
      this.#stage('idle', performance.now() - t0);
    }
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
        await sleep(backoffMs(attempt));
      }
    }
  }

  /** Waits for the store in flight, if any; `rethrow` false swallows its ack error (a replay follows). */
  async #awaitInFlight(rethrow: boolean): Promise<Error | null> {
    const f = this.#inFlight;
    if (!f) return null;
    this.#inFlight = null;
    const err = await f;
    return rethrow ? err : null;
  }

  /**
   * FLUSH: prepare, store (retrying until it commits), then ack the slot and emit the
   * committed rows in one Redis round trip (DEL first: MULTI-less pipelines still run in
   * order on one connection). Never rejects: a Redis error is returned for the loop to replay.
   */
  async #commit(batch: OpenBatch, firstMode: StoreMode, ready?: PreparedBatch): Promise<Error | null> {
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
        await sleep(backoffMs(attempt++));
      }
    }
    const s = outcome.stageMs;
    this.#stage('begin', s.begin);
    this.#stage('copy', s.copy);
    this.#stage('wrapup', s.wrapup);
    this.#stage('commit', s.commit);
    // Ack: the batch leaves Redis for good only now that it is committed; emit after it.
    const t1 = performance.now();
    try {
      const pipe = o.redis.pipeline().del(o.processingKeys[batch.slot]);
      for (const m of batchMessages(outcome)) pipe.publish(o.broadcastChannel, m);
      const replies = (await pipe.exec()) ?? [];
      if (replies[0]?.[0]) throw replies[0][0];
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
