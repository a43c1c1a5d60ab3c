/**
 * Drain probe (`node scripts/bench.mjs bench/pipeline/drain.ts bench-drain`): preloads
 * BENCH_EVENTS fixture events onto the intake list, then starts the receiver alone and
 * times how long it takes to store them all. Nothing else runs meanwhile, so the CPU per
 * event it prints is the receiver's own path (its Node process, Redis, Postgres) without
 * producers competing: the figure to watch when optimizing the receiver, and the run to
 * profile (`BENCH_CPU_PROF=1` writes a .cpuprofile of the receiver's process to the cwd).
 * A watcher of every group is announced (watched-groups.ts), so the receiver builds and
 * publishes every event's websocket frame, as when each job is followed; `BENCH_WATCH=none`
 * measures the path with nobody watching (no frames built).
 */
import os from 'node:os';
import { startReceiver } from '../../src/pipeline/receiver.js';
import { ALL, WatchAnnouncer } from '../../src/pipeline/watched-groups.js';
import { redisKeys } from '../../src/redis-keys.js';
import { startCpuProfile } from './cpu-profile.js';
import { cpuMeter, formatCpu, selfCpuSeconds, treeCpuSeconds } from './cpu-accounting.js';
import { eventJson, fixtureLines } from './producer.js';
import { createBenchJob, startBenchStack } from './stack.js';

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

async function main(): Promise<void> {
  const stack = await startBenchStack('drain', WORKERS);
  const { pg, redisServer, pool, redis, config, queue } = stack;
  try {
    const job = await createBenchJob(pool);
    const fixtures = fixtureLines();
    for (let c = 1; c <= N; c += 1000) {
      const items: string[] = [];
      for (let i = c; i < Math.min(N + 1, c + 1000); i++) items.push(eventJson(fixtures, job.id, i));
      await redis.rpush(queue, ...items);
    }
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${N} events preloaded, ${WORKERS} workers`);
    const stopProfile = await startCpuProfile('drain');
    const meter = cpuMeter({ postgres: () => treeCpuSeconds(pg.pid), redis: () => treeCpuSeconds(redisServer.pid), 'receiver (node)': selfCpuSeconds });
    const watcher = process.env.BENCH_WATCH === 'none' ? undefined
      : new WatchAnnouncer(redis, redisKeys(config), `drain-${process.pid}`, () => [ALL]);
    await watcher?.sync();
    const t0 = performance.now();
    const receiver = await startReceiver({ config, pool, redis, workers: WORKERS });
    while (receiver.metrics.inserted.get() < N) await new Promise((r) => setTimeout(r, 10));
    const seconds = (performance.now() - t0) / 1000;
    const perEvent = meter.perEvent(N);
    await stopProfile();
    await receiver.close();
    await watcher?.close();
    console.log(`watching: ${watcher ? 'every group (frames built)' : 'nobody (no frames)'}`);
    console.log(`drained ${N} events in ${seconds.toFixed(2)} s: ${Math.round(N / seconds)} events/s`);
    console.log(`  CPU: ${formatCpu(perEvent)}`);
  } finally {
    await stack.stop();
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
