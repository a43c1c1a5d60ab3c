import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import { log } from '../log.js';
import { type RedisKeys, redisKeys } from '../redis-keys.js';
import { createRedis } from '../runtime.js';
import { IdBlocks } from './id-blocks.js';
import { JobCache, PartitionCache } from './job-cache.js';
import { receiverRegistry, startSnapshotLoop, type ReceiverMetrics } from './pipeline-metrics.js';
import { IdleWatch, ReceiverWorker } from './receiver-worker.js';
import { startStreamDeadline } from './stream-deadline.js';
import { WatchedGroups } from './watched-groups.js';

/**
 * The callback receiver: Redis list → batches → COPY → commit → ack → broadcast.
 *
 * Each of `workers` loops owns a Redis connection (blocking commands must not share one)
 * and two processing lists (slots) `receiver:processing:<node>:<index>` (redis-keys.ts) and
 * `…:<index>:1`, stable across restarts so a restarted receiver finds what it left. Node
 * names are unique per cluster (they are instance names), so two receivers never share a
 * processing list. A slot is filled by claiming the whole intake list with RENAME
 * (claim-scripts.ts: O(1), where moving events one by one cost Redis more CPU than
 * anything else it does for them), read in batches with LRANGE and trimmed from its head
 * as each batch commits. A worker runs up to two stores at once (their acks in slot
 * order) and reads, parses and encodes the next batch meanwhile, so Node's work and
 * Postgres' COPYs overlap instead of taking turns.
 *
 * A worker's states:
 *
 *   REPLAY  Wait for the stores in flight (if any). For each slot: while it holds items,
 *           LRANGE up to 1000 → store in dedup mode → ack. → FILL. Entered at start and
 *           after any Redis error (the slots, not memory, are the truth).
 *   FILL    Read up to min(1000, batchSize - open) unread items of a slot into the open
 *           batch; they are parsed at once. With no unread item in either slot, claim the
 *           intake list into an empty slot first (the claim returns the first items, so no
 *           separate read); after a small claim (under 100 items: the receiver keeps up), go
 *           to IDLE instead and claim when it wakes. A batch never spans slots. Fewer than two
 *           stores in flight: full, or older than batchMs, or nothing more at hand with
 *           something open → FLUSH (an idle system flushes every event at once: ms
 *           latency). Two in flight: keep reading until full or nothing is at hand (under
 *           load batches grow to what arrived during the COPYs), then prepare the open
 *           batch (jobs, partitions, COPY rows), wait for the oldest store, → FLUSH.
 *           Nothing at hand and nothing open: wait for the stores in flight (their acks
 *           need the connection IDLE would block), then, if none, → IDLE.
 *   IDLE    BLMOVE of the intake list onto itself, blocking ≤ 1 s (no busy polling; it
 *           takes nothing, only wakes the worker). One worker of the process at a time
 *           (IdleWatch), holding the watch until its claim after the wake-up; the others
 *           wait for it in the process, not on Redis. → FILL.
 *   FLUSH   The open batch becomes the batch in flight. In flight: storeBatch (one
 *           transaction; fast COPY; dedup after a unique violation or any failed attempt;
 *           isolate after a data error) retried with backoff + jitter until it commits: a
 *           Postgres outage is waited out with the batch held. Then, after the previous
 *           store's ack, in one Redis round trip on the worker's connection, ack (LTRIM of the batch from the slot's head,
 *           guarded so a resent ack is a no-op) and publish the committed rows. → FILL at
 *           once (it does not wait for the store).
 *   CLOSED  close(): no more claims; what the worker holds (in flight, open, unread in its
 *           slots) is stored and acked, then the loop ends. destroy(): ends now; held
 *           events stay in the processing lists for the next REPLAY.
 *
 * A crash at any instant leaves each event in exactly one of: the intake list, a
 * processing list (replayed, de-duplicated), or committed-and-acked. Events of one job may
 * go to different workers; uniqueness of (job_id, job_created, counter) and the row lock
 * in wrapup.ts keep that correct. A claim takes the whole backlog: under a deep one, one
 * worker may hold most of it while the other takes what arrives next.
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
  const watched = new WatchedGroups(publisher, connect('receiver-watched'), keys);
  const metrics = receiverRegistry();
  const store = { pool, jobs: new JobCache(), partitions: new PartitionCache(), ids: new IdBlocks(), node, encodeStats: { nulStripped: 0 } };

  await returnOrphanedLists(publisher, keys, node, workerCount);

  const connections: Redis[] = [];
  const workers: ReceiverWorker[] = [];
  const idle = new IdleWatch();
  const processingKeys: string[] = [];
  for (let i = 0; i < workerCount; i++) {
    const redis = connect(`receiver-${i}`);
    connections.push(redis);
    const slots = [keys.processing(node, i, 0), keys.processing(node, i, 1)] as const;
    processingKeys.push(...slots);
    workers.push(new ReceiverWorker({
      index: i, redis, queue: keys.callbackQueue, processingKeys: slots, broadcastChannel: keys.broadcastChannel,
      eventFrameChannel: keys.eventFrameChannel, batchSize: config.receiverBatchSize, batchMs: config.receiverBatchMs, store, metrics, watched, idle,
    }));
  }
  const runs = workers.map((w) => w.start().catch((err) => log.error('receiver worker stopped', { err: (err as Error).stack ?? err })));
  const stopSnapshots = startSnapshotLoop({ redis: publisher, keys,
    node, instance: `${process.pid}-${crypto.randomBytes(3).toString('hex')}`, metrics, processingKeys });
  const stopDeadline = startStreamDeadline({ pool, redis: publisher, broadcastChannel: keys.broadcastChannel,
    waitSeconds: config.eventWaitSeconds, metrics });
  log.info('receiver started', { node, workers: workerCount, queue: keys.callbackQueue, batchSize: config.receiverBatchSize });

  let closed = false;
  const shutConnections = () => {
    stopSnapshots();
    stopDeadline();
    for (const c of connections) c.disconnect();
    watched.close();
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

async function returnOrphanedLists(redis: Redis, keys: RedisKeys, node: string, workers: number): Promise<void> {
  const queue = keys.callbackQueue;
  const prefix = keys.processingPrefix(node);
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const index = Number(key.slice(prefix.length).replace(/:1$/, ''));
      if (!Number.isInteger(index) || index < workers) continue;
      let moved = 0;
      // Tail first onto the head, so the intake list keeps the original order.
      while (await redis.lmove(key, queue, 'RIGHT', 'LEFT')) moved++;
      log.warn('returned an orphaned processing list to the intake list', { key, moved });
    }
  } while (cursor !== '0');
}
