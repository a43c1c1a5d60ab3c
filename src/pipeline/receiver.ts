import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import { log } from '../log.js';
import { redisKeys } from '../redis-keys.js';
import { createRedis } from '../runtime.js';
import { JobCache, PartitionCache } from './job-cache.js';
import { receiverRegistry, startSnapshotLoop, type ReceiverMetrics } from './pipeline-metrics.js';
import { POP_BATCH_LUA } from './pop-batch-script.js';
import { ReceiverWorker } from './receiver-worker.js';

/**
 * The callback receiver: Redis list → batches → COPY → commit → ack → broadcast.
 *
 * Each of `workers` loops owns a Redis connection (blocking commands must not share one)
 * and a processing list named `${ns}receiver:processing:<node>:<index>`, stable across
 * restarts so a restarted receiver finds what it left. Node names are unique per cluster
 * (they are instance names), so two receivers never share a processing list.
 *
 * A worker's states:
 *
 *   REPLAY  held := LRANGE processing 0 -1. Non-empty → FLUSH in dedup mode. → FILL.
 *           Entered at start and after any Redis error (the list, not memory, is the truth).
 *   FILL    psPopBatch moves up to min(1000, batchSize - held) items intake → processing
 *           and returns them. Full, or older than batchMs, or the intake ran dry with
 *           something held → FLUSH (an idle system flushes every event at once: ms latency;
 *           a loaded one fills batches). Dry with nothing held → IDLE.
 *   IDLE    BLMOVE intake → processing, blocking ≤ 1 s (no busy polling). → FILL.
 *   FLUSH   storeBatch (fast COPY; dedup after a unique violation or any failed attempt;
 *           isolate after a data error) retried with backoff + jitter until it commits:
 *           a Postgres outage is waited out with the batch held. Then ack (DEL the
 *           processing list), then publish the committed rows. → FILL.
 *   CLOSED  close(): the held batch is flushed, then the loop ends. destroy(): ends now;
 *           held events stay in the processing list for the next REPLAY.
 *
 * A crash at any instant leaves each event in exactly one of: the intake list, a
 * processing list (replayed, de-duplicated), or committed-and-acked. Events of one job may
 * go to different workers; uniqueness of (job_id, job_created, counter) and the row lock
 * in wrapup.ts keep that correct.
 *
 * Processing lists of worker indexes this run does not have (the worker count went down)
 * are moved back onto the intake list at start, item by item with LMOVE (atomic each).
 */
export interface ReceiverHandle {
  close(): Promise<void>;
  destroy(): void;
  /** This receiver's figures (tests and the bench read them). */
  readonly metrics: ReceiverMetrics;
}

export function processingKey(ns: string, node: string, index: number): string {
  return `${ns}receiver:processing:${node}:${index}`;
}

export async function startReceiver(options: { config: Config; pool: Pool; redis?: Redis; workers?: number }): Promise<ReceiverHandle> {
  const { config, pool } = options;
  const keys = redisKeys(config);
  const node = config.nodeName;
  const workerCount = options.workers ?? config.receiverWorkers;
  const connect = (name: string): Redis => {
    if (options.redis) {
      const r = options.redis.duplicate({ connectionName: name, maxRetriesPerRequest: null });
      r.on('error', (err) => log.warn('redis connection error', { name, err: err.message }));
      return r;
    }
    if (!config.redisUrl) throw new Error('startReceiver needs REDIS_URL or a redis client');
    return createRedis(config.redisUrl, name);
  };
  const publisher = connect('receiver-publish');
  const metrics = receiverRegistry();
  const store = { pool, jobs: new JobCache(), partitions: new PartitionCache(), node, encodeStats: { nulStripped: 0 } };

  await returnOrphanedLists(publisher, keys.ns, node, workerCount, keys.callbackQueue);

  const connections: Redis[] = [];
  const workers: ReceiverWorker[] = [];
  const processingKeys: string[] = [];
  for (let i = 0; i < workerCount; i++) {
    const redis = connect(`receiver-${i}`);
    redis.defineCommand('psPopBatch', { numberOfKeys: 2, lua: POP_BATCH_LUA });
    connections.push(redis);
    const pk = processingKey(keys.ns, node, i);
    processingKeys.push(pk);
    workers.push(new ReceiverWorker({
      index: i, redis, publisher, queue: keys.callbackQueue, processingKey: pk, broadcastChannel: keys.broadcastChannel,
      batchSize: config.receiverBatchSize, batchMs: config.receiverBatchMs, store, metrics,
    }));
  }
  const runs = workers.map((w) => w.start().catch((err) => log.error('receiver worker stopped', { err: (err as Error).stack ?? err })));
  const stopSnapshots = startSnapshotLoop({ redis: publisher, ns: keys.ns, queue: keys.callbackQueue, broadcastChannel: keys.broadcastChannel,
    node, instance: `${process.pid}-${crypto.randomBytes(3).toString('hex')}`, metrics, processingKeys });
  log.info('receiver started', { node, workers: workerCount, queue: keys.callbackQueue, batchSize: config.receiverBatchSize });

  let closed = false;
  const shutConnections = () => {
    stopSnapshots();
    for (const c of connections) c.disconnect();
    publisher.disconnect();
  };
  return {
    metrics,
    async close() {
      if (closed) return;
      closed = true;
      // A worker blocked in BLMOVE wakes within IDLE_BLOCK_SECONDS; an item it moved then
      // is flushed before it stops.
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(runs);
      shutConnections();
    },
    destroy() {
      if (closed) return;
      closed = true;
      for (const w of workers) w.destroy();
      shutConnections();
    },
  };
}

async function returnOrphanedLists(redis: Redis, ns: string, node: string, workers: number, queue: string): Promise<void> {
  const prefix = processingKey(ns, node, 0).slice(0, -1);
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const index = Number(key.slice(prefix.length));
      if (!Number.isInteger(index) || index < workers) continue;
      let moved = 0;
      // Tail first onto the head, so the intake list keeps the original order.
      while (await redis.lmove(key, queue, 'RIGHT', 'LEFT')) moved++;
      log.warn('returned an orphaned processing list to the intake list', { key, moved });
    }
  } while (cursor !== '0');
}
