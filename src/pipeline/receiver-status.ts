import { loadConfig } from '../config.js';
import { redisKeys } from '../redis-keys.js';
import { createRedis } from '../runtime.js';
import { readSnapshots } from './pipeline-metrics.js';

/** `playstream receiver --status`: every live receiver's figures, from their Redis snapshots. */
export async function printReceiverStatus(): Promise<void> {
  const config = loadConfig();
  if (!config.redisUrl) throw new Error('receiver --status needs REDIS_URL');
  const redis = createRedis(config.redisUrl, 'receiver-status');
  try {
    const keys = redisKeys(config);
    const [snapshots, listLength] = await Promise.all([readSnapshots(redis, keys), redis.llen(keys.callbackQueue)]);
    const out: string[] = [`intake list ${keys.callbackQueue}: ${listLength} events waiting`];
    if (!snapshots.length) out.push('no live receiver (no snapshot in the last 3 s)');
    for (const { live: l } of snapshots) {
      out.push(`receiver ${l.node} (${l.instance}), ${((Date.now() - l.at) / 1000).toFixed(1)} s ago:`,
        `  events/s in ${l.events_in_per_s}, out ${l.events_out_per_s}; claimed, not yet stored ${l.processing_length}`,
        `  popped ${l.popped_total}, inserted ${l.inserted_total}, dead-lettered ${l.dead_lettered_total}, duplicates skipped ${l.duplicates_total}`,
        `  batch size p50 ${l.batch_size.p50} p99 ${l.batch_size.p99} max ${l.batch_size.max}; COPY ms p50 ${l.copy_ms.p50.toFixed(1)} p99 ${l.copy_ms.p99.toFixed(1)}`,
        `  lag (modified - created) ms p50 ${l.lag_ms.p50.toFixed(1)} p90 ${l.lag_ms.p90.toFixed(1)} p99 ${l.lag_ms.p99.toFixed(1)} max ${l.lag_ms.max.toFixed(1)}`);
    }
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    redis.disconnect();
  }
}
