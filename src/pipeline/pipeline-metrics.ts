import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis-keys.js';
import { log } from '../log.js';
import { Registry } from '../metrics.js';
import { publishBroadcast } from './broadcast.js';

/**
 * The receiver's figures. Each receiver keeps its own Registry (not the process-global one:
 * a receiver run inside the web process in tests must not be counted twice) and publishes
 * a snapshot every 250 ms to Redis, where the web's /api/v2/metrics/ and
 * `playstream receiver --status` read it, and to the broadcast bus as a `metrics` message
 * for the console's lag dashboard. Snapshots expire after 3 s: a dead receiver drops out.
 * While nothing moves (no event in or out, the lists' lengths unchanged) a snapshot is sent
 * once a second instead: rendering and sending four a second was most of an idle
 * receiver's CPU (2.3 % of a core).
 */
export const SNAPSHOT_INTERVAL_MS = 250;
const IDLE_SNAPSHOT_MS = 1000;
const SNAPSHOT_TTL_MS = 3000;

export interface LiveFigures {
  node: string;
  instance: string;
  at: number;
  events_in_per_s: number;
  events_out_per_s: number;
  list_length: number;
  processing_length: number;
  popped_total: number;
  inserted_total: number;
  dead_lettered_total: number;
  duplicates_total: number;
  batch_size: { p50: number; p99: number; max: number };
  lag_ms: { p50: number; p90: number; p99: number; max: number };
  copy_ms: { p50: number; p99: number; max: number };
}

export interface Snapshot { live: LiveFigures; text: string }

export function receiverRegistry() {
  const r = new Registry();
  return {
    registry: r,
    popped: r.counter('playstream_receiver_events_popped_total', 'Events taken from the Redis list.'),
    inserted: r.counter('playstream_receiver_events_inserted_total', 'Events stored in Postgres (committed).'),
    deadLettered: r.counter('playstream_receiver_events_dead_lettered_total', 'Events sent to dead letters, by reason.'),
    duplicates: r.counter('playstream_receiver_events_duplicate_total', 'Replayed events found already stored (not stored twice).'),
    nulStripped: r.counter('playstream_receiver_nul_stripped_total', 'NUL characters stripped from event text.'),
    invalidUtf8: r.counter('playstream_receiver_invalid_utf8_total', 'Events whose bytes were not valid UTF-8 (decoded with U+FFFD).'),
    badCreated: r.counter('playstream_receiver_bad_created_total', 'Events whose `created` did not parse (flush time used).'),
    retries: r.counter('playstream_receiver_retries_total', 'Batch attempts retried, by cause.'),
    broadcastFailures: r.counter('playstream_receiver_broadcast_failures_total', 'Broadcast publishes that failed.'),
    streamsClosedIncomplete: r.counter('playstream_receiver_streams_closed_incomplete_total',
      'Jobs whose event processing was finished by the deadline with events missing or no EOF (stream-deadline.ts).'),
    eventsMissing: r.counter('playstream_receiver_events_missing_total', 'Events announced by producers that never arrived (at the deadline).'),
    batches: r.counter('playstream_receiver_batches_total', 'Batches committed.'),
    stageSeconds: r.counter('playstream_receiver_stage_seconds_total',
      'Time spent per stage (pop, parse, prepare, wait, begin, copy, wrapup, commit, ack_emit, idle), summed over workers.'),
    listLength: r.gauge('playstream_receiver_list_length', 'Length of the Redis intake list.'),
    processingLength: r.gauge('playstream_receiver_processing_length', 'Events held in this receiver\'s processing lists.'),
    batchSize: r.histogram('playstream_receiver_batch_size', 'Events per committed batch.', [1, 10, 50, 100, 250, 500, 1000, 2500, 5000]),
    copySeconds: r.histogram('playstream_receiver_copy_seconds', 'COPY duration per batch.', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]),
    lagSeconds: r.histogram('playstream_receiver_lag_seconds', 'modified - created per stored event (runner to database).',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  };
}
export type ReceiverMetrics = ReturnType<typeof receiverRegistry>;


function sum(values: Map<string, number>): number {
  let n = 0;
  for (const v of values.values()) n += v;
  return n;
}

/** Starts the 250 ms snapshot loop; returns a stop function. Failures are logged, never thrown. */
export function startSnapshotLoop(opts: { redis: Redis; keys: RedisKeys; node: string;
  instance: string; metrics: ReceiverMetrics; processingKeys: string[] }): () => void {
  const { metrics: m } = opts;
  let last = { at: Date.now(), popped: 0, inserted: 0 };
  let sent = { at: 0, state: '' };
  let stopped = false;
  let running = false;
  const tick = async () => {
    if (running || stopped) return;
    running = true;
    try {
      const pipe = opts.redis.pipeline();
      pipe.llen(opts.keys.callbackQueue);
      for (const k of opts.processingKeys) pipe.llen(k);
      const res = (await pipe.exec()) ?? [];
      const lens = res.map(([, v]) => Number(v) || 0);
      m.listLength.set(lens[0] ?? 0);
      m.processingLength.set(lens.slice(1).reduce((a, b) => a + b, 0));
      const now = Date.now();
      const popped = m.popped.get();
      const inserted = m.inserted.get();
      const dead = sum(m.deadLettered.values);
      const duplicates = m.duplicates.get();
      const state = `${popped} ${inserted} ${dead} ${duplicates} ${lens.join(' ')}`;
      if (state === sent.state && now - sent.at < IDLE_SNAPSHOT_MS) return;
      sent = { at: now, state };
      const dt = Math.max(1, now - last.at) / 1000;
      const lag = m.lagSeconds.quantiles();
      const bs = m.batchSize.quantiles();
      const cp = m.copySeconds.quantiles();
      const live: LiveFigures = {
        node: opts.node, instance: opts.instance, at: now,
        events_in_per_s: Math.round((popped - last.popped) / dt), events_out_per_s: Math.round((inserted - last.inserted) / dt),
        list_length: m.listLength.get(), processing_length: m.processingLength.get(),
        popped_total: popped, inserted_total: inserted, dead_lettered_total: dead, duplicates_total: duplicates,
        batch_size: { p50: bs.p50, p99: bs.p99, max: bs.max },
        lag_ms: { p50: lag.p50 * 1000, p90: lag.p90 * 1000, p99: lag.p99 * 1000, max: lag.max * 1000 },
        copy_ms: { p50: cp.p50 * 1000, p99: cp.p99 * 1000, max: cp.max * 1000 },
      };
      last = { at: now, popped, inserted };
      const snapshot: Snapshot = { live, text: m.registry.render({ node: opts.node, instance: opts.instance }) };
      const key = opts.keys.receiverSnapshot(opts.node, opts.instance);
      await opts.redis.multi()
        .set(key, JSON.stringify(snapshot), 'PX', SNAPSHOT_TTL_MS)
        .zadd(opts.keys.receiverSnapshots, now, key)
        .zremrangebyscore(opts.keys.receiverSnapshots, 0, now - 60_000)
        .exec();
      await publishBroadcast(opts.redis, opts.keys.broadcastChannel, { group: 'metrics', messages: [{ group_name: 'metrics', ...live }] });
    } catch (err) {
      log.debug('receiver metrics snapshot failed', { err: (err as Error).message });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), SNAPSHOT_INTERVAL_MS);
  timer.unref();
  void tick();
  return () => { stopped = true; clearInterval(timer); };
}

/** Live snapshots of every receiver (all nodes), newest first. */
export async function readSnapshots(redis: Redis, redisKeys: RedisKeys): Promise<Snapshot[]> {
  const keys = await redis.zrangebyscore(redisKeys.receiverSnapshots, Date.now() - SNAPSHOT_TTL_MS, '+inf');
  if (!keys.length) return [];
  const values = await redis.mget(...keys);
  const out: Snapshot[] = [];
  for (const v of values) {
    if (!v) continue;
    try { out.push(JSON.parse(v) as Snapshot); } catch (err) { log.debug('bad receiver snapshot', { err }); }
  }
  return out.sort((a, b) => b.live.at - a.live.at);
}

/**
 * Prometheus text of several registries' renders merged into one exposition: samples of a
 * metric family must sit together under one HELP/TYPE, so lines are grouped by the family
 * whose HELP opened them, in first-seen order.
 */
export function mergePrometheus(texts: string[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const t of texts) {
    let current: { head: string[]; samples: string[] } | undefined;
    for (const line of t.split('\n')) {
      if (!line) continue;
      const help = /^# HELP (\S+)/.exec(line);
      if (help) {
        current = families.get(help[1]);
        if (!current) families.set(help[1], current = { head: [line], samples: [] });
        continue;
      }
      if (line.startsWith('# TYPE')) {
        if (current && current.head.length < 2) current.head.push(line);
        continue;
      }
      if (current) current.samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) out.push(...f.head, ...f.samples);
  return out.join('\n') + '\n';
}
