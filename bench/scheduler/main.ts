import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool } from '../../src/db/pool.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabaseIfMissing, startEmbeddedPostgres, withDatabase } from '../../src/services/postgres.js';
import { startEmbeddedRedis } from '../../src/services/redis.js';
import { launchJobTemplate } from '../../src/scheduler/launch.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import { benchLaunchLatency } from './launch-latency.js';
import { benchWorkflowPass } from './workflow-pass.js';

/**
 * `npm run bench:scheduler`:
 * 1. one task manager pass over 10,000 pending jobs (target < 1 s), on an embedded Postgres
 *    (fsync off), against the baseline of a pass with nothing pending. Jobs spread over 100
 *    job templates (half allow_simultaneous) and 3 instances, so the pass exercises
 *    blocking, placement and the bulk writes;
 * 2. launch-to-running latency of trivial jobs with idle capacity, in a second database, with
 *    a real dispatcher and ansible-runner (launch-latency.ts), beside its baselines.
 * 3. one pass starting the next nodes of 1,000 running workflows of 10 nodes (workflow-pass.ts).
 * BENCH_PENDING (10,000), BENCH_LAUNCHES (20) and BENCH_WORKFLOWS (1,000) size them;
 * BENCH_ONLY=latency|pass|workflows runs one.
 */
const N = Number(process.env.BENCH_PENDING ?? 10_000);
const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 20);
const WORKFLOWS = Number(process.env.BENCH_WORKFLOWS ?? 1000);
const only = process.env.BENCH_ONLY ?? '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-bench-sched-'));
fs.chmodSync(dir, 0o755);
const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), autoInstall: true, database: 'postgres',
  settings: { fsync: 'off', synchronous_commit: 'off' } });
const pool = createPool(pg.url, { max: 4, name: 'bench' });
const redis = only === 'pass' || only === 'workflows' ? null : await startEmbeddedRedis({ dir: path.join(dir, 'redis'), autoInstall: true, appendfsync: 'no', persistence: false });
console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`);
try {
  if (only === '' || only === 'pass') await benchPass();
  if (only === '' || only === 'workflows') {
    await createDatabaseIfMissing(pg.url, 'workflows');
    const wfPool = createPool(withDatabase(pg.url, 'workflows'), { max: 4, name: 'bench-workflows' });
    try {
      await migrate(wfPool);
      for (const line of await benchWorkflowPass(wfPool, WORKFLOWS)) console.log(line);
    } finally {
      await wfPool.end();
    }
  }
  if (only === '' || only === 'latency') {
    await createDatabaseIfMissing(pg.url, 'latency');
    const latencyUrl = withDatabase(pg.url, 'latency');
    const latencyPool = createPool(latencyUrl, { max: 4, name: 'bench-latency' });
    try {
      await migrate(latencyPool);
      for (const line of await benchLaunchLatency({ pool: latencyPool, databaseUrl: latencyUrl, redisUrl: redis!.url, dir, n: LAUNCHES })) {
        console.log(line);
      }
    } finally {
      await latencyPool.end();
    }
  }
} finally {
  await pool.end();
  await redis?.stop();
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function benchPass(): Promise<void> {
  await migrate(pool);
  const org = (await pool.query(`INSERT INTO organizations (name) VALUES ('b') RETURNING id`)).rows[0].id;
  const project = (await pool.query(`INSERT INTO projects (name, organization_id) VALUES ('p', $1) RETURNING id`, [org])).rows[0].id;
  const inv = (await pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('i', $1) RETURNING id`, [org])).rows[0].id;
  await pool.query(`INSERT INTO hosts (name, inventory_id) SELECT 'h' || g, $1 FROM generate_series(1, 10) g`, [inv]);
  for (const h of ['n1', 'n2', 'n3']) await pool.query(`INSERT INTO instances (hostname, capacity, last_seen) VALUES ($1, 225, now())`, [h]);
  const templates: number[] = [];
  for (let i = 0; i < 100; i++) {
    templates.push((await pool.query(`INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook, allow_simultaneous)
      VALUES ($1, $2, $3, $4, 'x.yml', $5) RETURNING id`, [`t${i}`, org, inv, project, i % 2 === 0])).rows[0].id);
  }
  const empty = performance.now();
  await runTaskManagerPass(pool, { heartbeatTolerance: 60 });
  const emptyMs = performance.now() - empty;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await launchJobTemplate(pool, templates[i % templates.length]);
  const launchMs = performance.now() - t0;
  // Submitting takes 10-100 s on shared cores: refresh the heartbeats, or placement would see
  // every instance as lost (tolerance 60 s) and the pass would place nothing.
  await pool.query('UPDATE instances SET last_seen = now()');
  const results: string[] = [];
  for (let i = 0; i < 3; i++) {
    const s = performance.now();
    const r = await runTaskManagerPass(pool, { heartbeatTolerance: 60 });
    results.push(`pass ${i + 1}: ${(performance.now() - s).toFixed(0)} ms (placed ${r.placed}, blocked ${r.blocked})`);
  }
  console.log(`submitted ${N} pending jobs in ${launchMs.toFixed(0)} ms (${(N / (launchMs / 1000)).toFixed(0)} launches/s)`);
  console.log(`baseline: empty pass ${emptyMs.toFixed(1)} ms`);
  for (const r of results) console.log(r);
}
