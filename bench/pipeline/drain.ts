/**
 * Drain probe (`node scripts/bench.mjs bench/pipeline/drain.ts bench-drain`): preloads
 * BENCH_EVENTS fixture events onto the intake list, then starts the receiver alone and
 * times how long it takes to store them all. Nothing else runs meanwhile, so the CPU per
 * event it prints is the receiver's own path (its Node process, Redis, Postgres) without
 * producers competing: the figure to watch when optimizing the receiver, and the run to
 * profile (`BENCH_CPU_PROF=1` writes a .cpuprofile of the receiver's process to the cwd).
 */
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { startReceiver } from '../../src/pipeline/receiver.js';
import { redisKeys } from '../../src/redis-keys.js';
import { startEmbeddedPostgres } from '../../src/services/postgres.js';
import { startEmbeddedRedis } from '../../src/services/redis.js';
import { cpuMeter, formatCpu, selfCpuSeconds, treeCpuSeconds } from './cpu-accounting.js';
import { eventJson, fixtureLines } from './producer.js';

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-drain-'));
  fs.chmodSync(root, 0o755);
  const [pg, redisServer] = await Promise.all([
    startEmbeddedPostgres({ dir: path.join(root, 'pg'), autoInstall: false, settings: { max_wal_size: '4GB' } }),
    startEmbeddedRedis({ dir: path.join(root, 'redis'), autoInstall: false, appendfsync: 'everysec' }),
  ]);
  const pool = createPool(pg.url, { max: WORKERS + 4, name: 'drain' });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  try {
    await migrate(pool);
    const config = loadConfig({ ...process.env, DATABASE_URL: pg.url, REDIS_URL: redisServer.url, PLAYSTREAM_REDIS_PREFIX: 'drain:',
      PLAYSTREAM_NODE_NAME: 'drain', PLAYSTREAM_RECEIVER_WORKERS: String(WORKERS), PLAYSTREAM_LOG_LEVEL: 'warn' });
    const queue = redisKeys(config).callbackQueue;
    const { rows } = await pool.query(`INSERT INTO unified_jobs (kind, name, status) VALUES ('job', 'drain', 'running')
      RETURNING id, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_iso`);
    await pool.query('SELECT ensure_event_partitions($1)', [rows[0].created_iso]);
    const fixtures = fixtureLines();
    for (let c = 1; c <= N; c += 1000) {
      const items: string[] = [];
      for (let i = c; i < Math.min(N + 1, c + 1000); i++) items.push(eventJson(fixtures, rows[0].id, i));
      await redis.rpush(queue, ...items);
    }
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${N} events preloaded, ${WORKERS} workers`);
    const session = process.env.BENCH_CPU_PROF ? new inspector.Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const meter = cpuMeter({ postgres: () => treeCpuSeconds(pg.pid), redis: () => treeCpuSeconds(redisServer.pid), 'receiver (node)': selfCpuSeconds });
    const t0 = performance.now();
    const receiver = await startReceiver({ config, pool, redis, workers: WORKERS });
    while (receiver.metrics.inserted.get() < N) await new Promise((r) => setTimeout(r, 10));
    const seconds = (performance.now() - t0) / 1000;
    const perEvent = meter.perEvent(N);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(`drain-${Date.now()}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    }
    await receiver.close();
    console.log(`drained ${N} events in ${seconds.toFixed(2)} s: ${Math.round(N / seconds)} events/s`);
    console.log(`  CPU: ${formatCpu(perEvent)}`);
  } finally {
    redis.disconnect();
    await pool.end();
    await Promise.all([pg.stop(), redisServer.stop()]);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
