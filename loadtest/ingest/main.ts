import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool } from '../../src/db/pool.js';
import { loadConfig } from '../../src/config.js';
import { readSnapshots } from '../../src/pipeline/pipeline-metrics.js';
import { type RedisKeys, redisKeys } from '../../src/redis-keys.js';
import { Redis } from 'ioredis';
import { cpuMeter, formatCpu, processCpuSeconds, reapedChildrenCpuSeconds, treeCpuSeconds } from '../../bench/pipeline/cpu-accounting.js';
import { Producers, psqlCopy, writeCopyFiles } from '../../bench/pipeline/drivers.js';
import { runProducer } from '../../bench/pipeline/producer.js';
import { createBenchJob } from '../../bench/pipeline/stack.js';
import { startStack } from '../api/stack.js';

/**
 * `npm run loadtest:ingest`: ingest measured as a user runs Playstream (issue #17). A full
 * `playstream start` on a fresh data dir (embedded Postgres and Redis with their settings;
 * web, receiver and dispatcher processes), one producer process pushing INGEST_EVENTS
 * (default 100,000) ~1 KB events of one running job as fast as it can, timed from its first
 * push to the last row committed. The ceiling, in the same run and database: one `psql
 * \copy` of the same rows (the receiver's own COPY encoding) into a table created
 * `LIKE job_events`. INGEST_ROUNDS (default 2) alternates the two, each round on a new job
 * and a truncated ceiling table. Target (#17): ingest ≥ 35 % of the ceiling.
 */
const EVENTS = Number(process.env.INGEST_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.INGEST_ROUNDS ?? 2);
const root = path.resolve(path.dirname(process.argv[1]), '..');
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

async function main(): Promise<void> {
  if (process.argv[2] === 'producer') return runProducer(process.argv.slice(3));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-ingest-'));
  console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}; load average at start ${load()}`);
  const stack = await startStack(root, dataDir, 'ingest-admin-pw', {});
  const pool = createPool(stack.databaseUrl, { max: 2, name: 'loadtest-ingest' });
  const producers = new Producers(process.argv[1], 1);
  // The stack's keys: its env is this one's less the prefix (loadtest/api/stack.ts).
  const keys = redisKeys(loadConfig({ ...process.env, PLAYSTREAM_REDIS_PREFIX: '' }));
  const queue = keys.callbackQueue;
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const pids = { web: stack.pidOf('web'), receiver: stack.pidOf('receiver'), dispatcher: stack.pidOf('dispatcher'),
    postgres: stack.pidOf('postgres'), redis: stack.pidOf('redis-server') };
  if (Object.values(pids).some((p) => p === undefined)) throw new Error(`missing a process of the stack: ${JSON.stringify(pids)}`);
  const ratios: number[] = [];
  try {
    await pool.query('CREATE TABLE ingest_ceiling (LIKE job_events INCLUDING DEFAULTS)');
    for (let round = 1; round <= ROUNDS; round++) {
      // Playstream: the producer pushes, the receiver drains; done when the last row is committed.
      const job = await createBenchJob(pool);
      const meter = cpuMeter({ web: () => processCpuSeconds(pids.web), receiver: () => processCpuSeconds(pids.receiver),
        dispatcher: () => processCpuSeconds(pids.dispatcher), postgres: () => treeCpuSeconds(pids.postgres!),
        redis: () => treeCpuSeconds(pids.redis!), producer: () => producers.pushingCpu });
      const insertedBefore = await insertedTotal(redis, keys);
      const run = await producers.start(stack.redisUrl, queue, job.id, EVENTS, 0);
      await run.done;
      const pushedMs = performance.now() - run.t0;
      const end = await stored(pool, redis, keys, insertedBefore, job, EVENTS);
      const ingest = EVENTS / ((end - run.t0) / 1000);
      const cpu = meter.perEvent(EVENTS);
      console.log(`round ${round}: playstream ${Math.round(ingest)} events/s (${EVENTS} events, one producer, flat out; `
        + `its pushes took ${Math.round(pushedMs)} ms: ${Math.round(EVENTS / (pushedMs / 1000))} events/s offered)`);
      console.log(`  CPU: ${formatCpu(cpu)}`);

      // The ceiling: one psql \copy of the same rows.
      await pool.query('TRUNCATE ingest_ceiling');
      const files = writeCopyFiles(dataDir, job, EVENTS, 1);
      const ceilMeter = cpuMeter({ postgres: () => treeCpuSeconds(pids.postgres!), psql: () => reapedChildrenCpuSeconds() - producers.totalCpu });
      const ceiling = EVENTS / ((await psqlCopy(stack.databaseUrl, 'ingest_ceiling', files)) / 1000);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM ingest_ceiling');
      if (rows[0].n !== EVENTS) throw new Error(`the ceiling table holds ${rows[0].n} rows, not ${EVENTS}`);
      for (const f of files) fs.rmSync(f);
      console.log(`round ${round}: one psql \\copy ${Math.round(ceiling)} rows/s`);
      console.log(`  CPU: ${formatCpu(ceilMeter.perEvent(EVENTS))}`);
      ratios.push(ingest / ceiling);
      console.log(`RESULT round ${round}: playstream ${Math.round(ingest)} ev/s | one psql \\copy ${Math.round(ceiling)} rows/s | `
        + `playstream/ceiling ${(ingest / ceiling * 100).toFixed(0)} % (target ≥ 35 %) | whole stack ${Object.values(cpu).reduce((a, b) => a + b, 0).toFixed(1)} µs CPU/event | load avg ${load()}`);
    }
  } finally {
    redis.disconnect();
    await pool.end();
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  console.log(`playstream/ceiling over ${ROUNDS} rounds: ${sorted.map((r) => `${(r * 100).toFixed(0)} %`).join(', ')}`);
}

/**
 * When the job's `n` rows are all committed. Counting them costs Postgres a walk of the job's
 * index, so while the receiver's own figures (its Redis snapshot, a few times a second) say
 * more than 2,000 are still to come it only reads those; then it counts every 50 ms.
 */
async function stored(pool: ReturnType<typeof createPool>, redis: Redis, keys: RedisKeys, insertedBefore: number,
  job: { id: number; createdIso: string }, n: number): Promise<number> {
  while (await insertedTotal(redis, keys) - insertedBefore < n - 2000) await new Promise((r) => setTimeout(r, 50));
  for (;;) {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND job_created = $2', [job.id, job.createdIso]);
    if (rows[0].n === n) return performance.now();
    if (rows[0].n > n) throw new Error(`job ${job.id}: ${rows[0].n} rows stored, expected ${n}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function insertedTotal(redis: Redis, keys: RedisKeys): Promise<number> {
  return (await readSnapshots(redis, keys)).reduce((sum, s) => sum + s.live.inserted_total, 0);
}

await main();
