import type { Redis } from 'ioredis';
import { log } from '../log.js';
import { batchMessages, publishBatch } from './emit.js';
import { type BadEvent, type ParsedEvent, parseEvent, type ParseStats } from './parse-event.js';
import type { ReceiverMetrics } from './pipeline-metrics.js';
import { POP_BATCH_MAX } from './pop-batch-script.js';
import { classifyStoreError, type StoreContext, type StoreMode, storeBatch, type StoreOutcome } from './store-batch.js';

/**
 * One consume → store → ack → emit loop with its own processing list (see receiver.ts for
 * the state machine). The processing list is the truth about the batch: `held` mirrors
 * it, and after any Redis trouble `held` is re-read from it.
 */
type BatchRedis = Redis & {
  psPopBatchBuffer(queue: string, processing: string, count: number, have: number): Promise<Buffer[]>;
};

export interface WorkerOptions {
  index: number;
  redis: Redis;
  publisher: Redis;
  queue: string;
  processingKey: string;
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

export class ReceiverWorker {
  readonly #o: WorkerOptions;
  readonly #redis: BatchRedis;
  #held: Buffer[] = [];
  #heldSince = 0;
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

  /** Graceful: finishes the batch in hand (stored and acked), then stops. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#done;
  }

  /** Forceful: stops at once; held events stay in the processing list for the next start. */
  destroy(): void {
    this.#closing = true;
    this.#destroyed = true;
  }

  async #run(): Promise<void> {
    let redisAttempt = 0;
    // REPLAY: whatever a previous run of this worker left un-acked comes first.
    while (!this.#destroyed) {
      try {
        if (this.#replay) {
          this.#held = await this.#o.redis.lrangeBuffer(this.#o.processingKey, 0, -1);
          this.#heldSince = Date.now();
          if (this.#held.length) {
            log.info('replaying un-acknowledged events', { worker: this.#o.index, events: this.#held.length });
            await this.#flush(true);
          }
          this.#replay = false;
        }
        if (this.#closing) {
          if (this.#held.length) await this.#flush(false);
          break;
        }
        await this.#fill();
        redisAttempt = 0;
      } catch (err) {
        if (this.#destroyed) break;
        this.#o.metrics.retries.inc(1, { cause: 'redis' });
        log.warn('receiver worker Redis trouble; re-reading its processing list', { worker: this.#o.index, err: (err as Error).message });
        this.#replay = true;
        await sleep(backoffMs(redisAttempt++));
      }
    }
  }

  /** FILL / IDLE: take what the list has; flush when full, old, or the list ran dry. */
  async #fill(): Promise<void> {
    const o = this.#o;
    const want = Math.min(POP_BATCH_MAX, o.batchSize - this.#held.length);
    const got = await this.#redis.psPopBatchBuffer(o.queue, o.processingKey, want, this.#held.length);
    if (got.length) {
      if (!this.#held.length) this.#heldSince = Date.now();
      for (const b of got) this.#held.push(b);
      o.metrics.popped.inc(got.length);
    }
    const drained = got.length < want;
    if (this.#held.length >= o.batchSize || (drained && this.#held.length) || (this.#held.length && Date.now() - this.#heldSince >= o.batchMs)) {
      await this.#flush(false);
      return;
    }
    if (drained && !this.#held.length && !this.#closing) {
      // IDLE: block until an item arrives (moved into the processing list by BLMOVE; the
      // next psPopBatch call returns it with any that followed).
      await o.redis.blmove(o.queue, o.processingKey, 'LEFT', 'RIGHT', IDLE_BLOCK_SECONDS);
    }
  }

  /** FLUSH: store (retrying until it commits), ack, emit. */
  async #flush(replay: boolean): Promise<void> {
    const o = this.#o;
    const items: (ParsedEvent | BadEvent)[] = this.#held.map((raw) => parseEvent(raw, this.#parseStats));
    let mode: StoreMode = replay ? 'dedup' : 'fast';
    let attempt = 0;
    let outcome: StoreOutcome;
    for (;;) {
      try {
        outcome = await storeBatch(o.store, items, mode);
        break;
      } catch (err) {
        const kind = classifyStoreError(err);
        o.metrics.retries.inc(1, { cause: kind });
        if (kind === 'duplicate') { mode = 'dedup'; continue; }
        if (kind === 'data') { mode = 'isolate'; continue; }
        // Postgres unreachable or the connection died: wait and retry, in dedup mode since
        // the failed attempt's COMMIT may have landed. Even when closing: a held batch is
        // stored before the worker stops, or left in the processing list by destroy().
        if (this.#destroyed) throw err;
        log.warn('storing a batch failed; retrying', { worker: o.index, attempt, err: (err as Error).message });
        mode = 'dedup';
        await sleep(backoffMs(attempt++));
      }
    }
    // Ack: the batch leaves Redis for good only now that it is committed.
    await o.redis.del(o.processingKey);
    const m = o.metrics;
    this.#held = [];
    m.batches.inc();
    m.batchSize.observe(items.length);
    m.copySeconds.observe(outcome.copyMs / 1000);
    m.inserted.inc(outcome.stored.length);
    m.duplicates.inc(outcome.duplicates);
    for (const d of outcome.dead) m.deadLettered.inc(1, { reason: d.code });
    const modifiedMs = Date.parse(outcome.modified);
    for (const s of outcome.stored) m.lagSeconds.observe(Math.max(0, modifiedMs - s.e.createdMs) / 1000);
    m.nulStripped.inc(o.store.encodeStats.nulStripped);
    o.store.encodeStats.nulStripped = 0;
    m.invalidUtf8.inc(this.#parseStats.invalidUtf8);
    m.badCreated.inc(this.#parseStats.badCreated);
    this.#parseStats.invalidUtf8 = 0;
    this.#parseStats.badCreated = 0;
    try {
      await publishBatch(o.publisher, o.broadcastChannel, batchMessages(outcome));
    } catch (err) {
      m.broadcastFailures.inc();
      log.warn('broadcast failed after commit', { err: (err as Error).message });
    }
  }
}
