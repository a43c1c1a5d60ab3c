/**
 * End-to-end pipeline benchmark (`npm run bench:pipeline`): producer processes push ~1 KB
 * events shaped like the recorded runner fixture onto Redis; the receiver drains them into
 * Postgres. In the same run, on the same servers and drivers:
 *   ceiling — psql \copy of the same rows, as many parallel connections as receiver workers;
 *   floor   — the CPU per event no receiver can save: the producers' pushes alone (Redis and
 *             producers) plus Postgres's CPU for the ceiling's COPY of the same rows;
 *   AWX     — AWX's algorithm: 4 worker processes, BLPOP one event at a time, buffer ≤ 1000
 *             events or 1 s, one multi-row INSERT per flush.
 * Each consumer first drains BENCH_WARMUP events untimed (a receiver runs warm for days).
 * Servers: an embedded Postgres with its durable defaults (fsync on, synchronous_commit on,
 * full_page_writes on) and an embedded Redis with appendonly yes, appendfsync everysec,
 * both started by this script in a temp dir.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Pool } from '../../src/db/pool.js';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { ALL, WatchAnnouncer } from '../../src/pipeline/watched-groups.js';
import { redisKeys } from '../../src/redis-keys.js';
import { runAwxWorker } from './awx-worker.js';
import { startCpuProfile } from './cpu-profile.js';
import { cpuMeter, formatCpu, reapedChildrenCpuSeconds, selfCpuSeconds, treeCpuSeconds } from './cpu-accounting.js';
import { Producers, psqlCopy, writeCopyFiles } from './drivers.js';
import { runProducer } from './producer.js';
import { createBenchJob, startBenchStack } from './stack.js';

const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const N_MAX = Number(process.env.BENCH_EVENTS ?? 200_000);
const N_AWX = Number(process.env.BENCH_AWX_EVENTS ?? 60_000);
const FIXED_RATE = Number(process.env.BENCH_RATE ?? 5000);
const FIXED_SECONDS = Number(process.env.BENCH_FIXED_SECONDS ?? 10);
// A receiver runs for days: its first events pay for compiling its path and growing its heap
// (loadtest:ingest's first round cost the receiver 35-41 µs per event against 22-25 after).
// Each consumer (the receiver, the AWX workers) first drains this many events, in proportion
// to what it is timed on, untimed; 0 measures them cold.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 50_000);
const PRODUCERS = 2;
const self = process.argv[1];

function spawnSelf(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited ${code}`))));
  });
}

/**
 * Resolves when `committed()` (the inserter's own count of committed rows: the receiver's
 * inserted counter, the AWX workers' Redis counter) reaches n, then checks the table once.
 * Polling count(*) every 50 ms instead cost Postgres ~10–30 µs of CPU per event at 100k+
 * rows, taken from the system under test.
 */
async function waitForRows(pool: Pool, jobId: number, n: number, committed: () => number | Promise<number>): Promise<number> {
  while (await committed() < n) await new Promise((r) => setTimeout(r, 20));
  const at = performance.now();
  const { rows } = await pool.query('SELECT count(*)::int AS c FROM job_events WHERE job_id = $1', [jobId]);
  if (rows[0].c !== n) throw new Error(`job ${jobId}: ${rows[0].c} rows stored, expected ${n}`);
  return at;
}

/** p99 of `modified - created` per second of `created`: tells a transient stall from a steady state. */
async function lagBySecond(pool: Pool, jobId: number): Promise<string[]> {
  const { rows } = await pool.query(`SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM modified - created) * 1000) AS p99
      FROM job_events WHERE job_id = $1 GROUP BY date_trunc('second', created) ORDER BY date_trunc('second', created)`, [jobId]);
  return rows.map((r) => Number(r.p99).toFixed(0));
}

async function lag(pool: Pool, jobId: number) {
  const { rows } = await pool.query(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY l) AS p99,
      max(l) AS max FROM (SELECT extract(epoch FROM modified - created) * 1000 AS l FROM job_events WHERE job_id = $1) x`, [jobId]);
  const r = rows[0];
  return { p50: Number(r.p50).toFixed(1), p99: Number(r.p99).toFixed(1), max: Number(r.max).toFixed(1) };
}

const producers = new Producers(self, PRODUCERS);

async function produce(redisUrl: string, queue: string, jobId: number, n: number, rate: number): Promise<void> {
  await (await producers.start(redisUrl, queue, jobId, n, rate)).done;
}

/** The receiver's stage times since `before` (a copy of its stage counters), in µs per event. */
function stageBreakdown(metrics: ReceiverHandle['metrics'], before: Map<string, number>, events: number): string {
  return [...metrics.stageSeconds.values].map(([k, v]) => `${k.replace(/^stage="(.*)"$/, '$1')} ${((v - (before.get(k) ?? 0)) * 1e6 / events).toFixed(1)}`).join(', ');
}

const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

async function main(): Promise<void> {
  if (process.argv[2] === 'producer') return runProducer(process.argv.slice(3));
  if (process.argv[2] === 'awx-worker') return runAwxWorker(process.argv.slice(3));
  const stack = await startBenchStack('bench', WORKERS);
  const { pg, redisServer, pool, redis, config, queue } = stack;
  const results: string[] = [];
  try {
    console.log(`load average at start: ${load()}`);
    console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; receiver workers ${WORKERS}, batch ${config.receiverBatchSize}`);

    // Ceiling: psql \copy of the same rows, WORKERS connections in parallel.
    const ceilJob = await createBenchJob(pool);
    const files = writeCopyFiles(stack.dir, ceilJob, N_MAX, WORKERS);
    const cpu = () => cpuMeter({ postgres: () => treeCpuSeconds(pg.pid), redis: () => treeCpuSeconds(redisServer.pid),
      'receiver (node)': selfCpuSeconds, producers: () => producers.pushingCpu, 'psql/awx workers': () => reapedChildrenCpuSeconds() - producers.totalCpu });
    const ceilCpu = cpu();
    const ceiling = N_MAX / ((await psqlCopy(pg.url, 'job_events', files)) / 1000);
    const ceilPerEvent = ceilCpu.perEvent(N_MAX);
    console.log(`ceiling: psql \\copy x${WORKERS}: ${Math.round(ceiling)} rows/s (${N_MAX} rows)`);
    console.log(`  CPU: ${formatCpu(ceilPerEvent)}`);

    // Floor: what no receiver can save. The producers push the same events onto a list nobody
    // reads (the intake's Redis and producer CPU alone); with Postgres's CPU for psql's own
    // COPY of the same rows (the ceiling's), it is what the pipeline costs per event before
    // the receiver does anything.
    const intakeCpu = cpu();
    await produce(redisServer.url, `${queue}:floor`, ceilJob.id, N_MAX, 0);
    const intake = intakeCpu.perEvent(N_MAX);
    await redis.unlink(`${queue}:floor`);
    const floor = intake.redis + intake.producers + ceilPerEvent.postgres;
    console.log(`floor without a receiver: ${floor.toFixed(1)} µs CPU/event (intake alone: redis ${intake.redis.toFixed(1)}, producers ${intake.producers.toFixed(1)}; `
      + `postgres of psql's COPY ${ceilPerEvent.postgres.toFixed(1)})`);

    // Playstream at maximum rate: producers push as fast as they can while the receiver drains.
    // Every group watched (watched-groups.ts), so every event's websocket frame is built and
    // published as when each job is followed; BENCH_WATCH=none: nobody watches, no frames.
    const watcher = process.env.BENCH_WATCH === 'none' ? undefined
      : new WatchAnnouncer(redis, redisKeys(config), `bench-${process.pid}`, () => [ALL]);
    await watcher?.sync();
    console.log(`watching: ${watcher ? 'every group (frames built and published)' : 'nobody (no frames built)'}`);
    const receiver = await startReceiver({ config, pool, redis, workers: WORKERS });
    const inserted = () => receiver.metrics.inserted.get();
    if (WARMUP > 0) {
      const warmJob = await createBenchJob(pool);
      const warmStart = performance.now();
      await produce(redisServer.url, queue, warmJob.id, WARMUP, 0);
      await waitForRows(pool, warmJob.id, WARMUP, inserted);
      console.log(`warm-up: the receiver drained ${WARMUP} events (${Math.round(WARMUP / ((performance.now() - warmStart) / 1000))} events/s cold), untimed`);
    }
    const maxJob = await createBenchJob(pool);
    const before = inserted();
    const stagesBefore = new Map(receiver.metrics.stageSeconds.values);
    const batchesBeforeMax = receiver.metrics.batches.get();
    const maxRun = await producers.start(redisServer.url, queue, maxJob.id, N_MAX, 0);
    const maxCpu = cpu();
    const t1 = maxRun.t0;
    await maxRun.done;
    const t1end = await waitForRows(pool, maxJob.id, N_MAX, () => inserted() - before);
    const maxRate = N_MAX / ((t1end - t1) / 1000);
    const maxLag = await lag(pool, maxJob.id);
    const maxPerEvent = maxCpu.perEvent(N_MAX);
    const maxTotal = Object.values(maxPerEvent).reduce((a, b) => a + b, 0);
    console.log(`playstream max rate: ${Math.round(maxRate)} events/s (${N_MAX} events); lag ms p50 ${maxLag.p50} p99 ${maxLag.p99} max ${maxLag.max}`);
    console.log(`  CPU: ${formatCpu(maxPerEvent)}`);
    console.log(`  receiver stages, µs per event summed over workers (wall time, overlapping): ${stageBreakdown(receiver.metrics, stagesBefore, N_MAX)}`);
    const bs = receiver.metrics.batchSize.quantiles();
    console.log(`  batch size (whole run) p50 ${bs.p50} p99 ${bs.p99} max ${bs.max}; batches ${receiver.metrics.batches.get() - batchesBeforeMax}`);

    // Playstream at a fixed offered rate.
    const fixedJob = await createBenchJob(pool);
    const batchesBefore = receiver.metrics.batches.get();
    const nFixed = FIXED_RATE * FIXED_SECONDS;
    const beforeFixed = inserted();
    const fixedCpu = cpu();
    const stopProfile = await startCpuProfile('fixed-rate');
    await produce(redisServer.url, queue, fixedJob.id, nFixed, FIXED_RATE);
    await waitForRows(pool, fixedJob.id, nFixed, () => inserted() - beforeFixed);
    await stopProfile();
    const fixedCpuPerEvent = fixedCpu.perEvent(nFixed);
    const fixedLag = await lag(pool, fixedJob.id);
    console.log(`playstream at ${FIXED_RATE}/s offered (${nFixed} events): lag ms p50 ${fixedLag.p50} p99 ${fixedLag.p99} max ${fixedLag.max}`);
    console.log(`  CPU: ${formatCpu(fixedCpuPerEvent)}; ${Math.round(nFixed / (receiver.metrics.batches.get() - batchesBefore))} events per batch on average`);
    console.log(`  lag ms p99 per second of the run: ${(await lagBySecond(pool, fixedJob.id)).join(' ')}`);
    await receiver.close();
    await watcher?.close();

    // AWX's algorithm on the same drivers: 4 processes, one BLPOP per event, ≤1000 or 1 s, multi-row INSERT.
    const awxWorkers = Array.from({ length: 4 }, () => spawnSelf(['awx-worker', redisServer.url, queue, pg.url]));
    const awxInserted = async () => Number(await redis.get(`${queue}:awx-inserted`) ?? 0);
    const awxWarm = Math.round(WARMUP * N_AWX / N_MAX);
    if (awxWarm > 0) {
      const warmJob = await createBenchJob(pool);
      await produce(redisServer.url, queue, warmJob.id, awxWarm, 0);
      await waitForRows(pool, warmJob.id, awxWarm, awxInserted);
      console.log(`warm-up: the AWX workers drained ${awxWarm} events, untimed`);
    }
    const awxJob = await createBenchJob(pool);
    const awxBefore = await awxInserted();
    const awxRun = await producers.start(redisServer.url, queue, awxJob.id, N_AWX, 0);
    const awxCpu = cpu();
    const t2 = awxRun.t0;
    await awxRun.done;
    const t2end = await waitForRows(pool, awxJob.id, N_AWX, async () => (await awxInserted()) - awxBefore);
    const awxRate = N_AWX / ((t2end - t2) / 1000);
    await redis.rpush(`${queue}:awx-stop`, 'stop', 'stop', 'stop', 'stop');
    await Promise.all(awxWorkers);
    const awxCpuPerEvent = awxCpu.perEvent(N_AWX);
    const awxLag = await lag(pool, awxJob.id);
    console.log(`awx algorithm: ${Math.round(awxRate)} events/s (${N_AWX} events); lag ms p50 ${awxLag.p50} p99 ${awxLag.p99} max ${awxLag.max}`);
    console.log(`  CPU: ${formatCpu(awxCpuPerEvent)}`);

    results.push(`RESULT playstream ${Math.round(maxRate)} ev/s | ceiling ${Math.round(ceiling)} rows/s | awx-algorithm ${Math.round(awxRate)} ev/s | `
      + `playstream/ceiling ${(maxRate / ceiling * 100).toFixed(0)}% | playstream/awx ${(maxRate / awxRate).toFixed(2)}x | `
      + `p99 lag @${FIXED_RATE}/s ${fixedLag.p99} ms | CPU/event ${maxTotal.toFixed(1)} µs, floor without a receiver ${floor.toFixed(1)} µs | `
      + `workers ${WORKERS} | load avg at end ${load()}`);
  } finally {
    await stack.stop();
  }
  console.log(results.join('\n'));
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
