import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import type pg from 'pg';
import { packageRoot } from '../../src/paths.js';
import { launchJobTemplate } from '../../src/scheduler/launch.js';
import { createPrivateDataDir, writeEnvFiles, writeInventory } from '../../src/scheduler/private-data-dir.js';

/**
 * Launch-to-running latency of trivial jobs with idle capacity: one dispatcher process
 * (2 workers, already warm), jobs launched one after another through launchJobTemplate,
 * each waited to its end before the next. Latencies come from the job row's own Postgres
 * timestamps (created → started → finished), so the bench's polling does not add to them:
 *   created:  the launch's INSERT (pending);
 *   started:  the worker's waiting → running (markRunning), just before ansible-runner spawns;
 *   finished: the final status saved after ansible-runner exited and EOF was pushed.
 * Baselines measured in the same run: ansible-runner alone on the same inputs (spawn to
 * exit, no Playstream), run between the launches so both see the same load; and the same
 * launches with the dispatcher's LISTEN off (polling only: task manager every 5 s, task
 * claim every 2 s), to show what the NOTIFY wake-up buys.
 */
const PLAYBOOK = `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=hi\n`;
const INVENTORY = { all: { hosts: { localhost: { ansible_connection: 'local', ansible_python_interpreter: '{{ ansible_playbook_python }}' } } } };

export interface LatencySample { runningMs: number; finishedMs: number }

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The CLI built from this tree into a private file, so a concurrent rebuild of dist/cli.js cannot change what is measured. */
async function buildCli(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'cli.js');
  await esbuild.build({ entryPoints: [path.join(packageRoot, 'src/cli.ts')], outfile, bundle: true, platform: 'node', target: 'node20',
    format: 'esm', packages: 'external', logLevel: 'warning' });
  return outfile;
}

async function setUpTemplate(pool: pg.Pool, dataDir: string): Promise<number> {
  const org = (await pool.query(`INSERT INTO organizations (name) VALUES ('latency') RETURNING id`)).rows[0].id;
  // A manual project (no SCM): its directory is the checkout.
  fs.mkdirSync(path.join(dataDir, 'projects', 'latency'), { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'projects', 'latency', 'trivial.yml'), PLAYBOOK);
  const project = (await pool.query(`INSERT INTO projects (name, organization_id, local_path) VALUES ('latency', $1, 'latency') RETURNING id`,
    [org])).rows[0].id;
  const inv = (await pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('latency', $1) RETURNING id`, [org])).rows[0].id;
  await pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('localhost', $1, $2)`,
    [inv, 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"']);
  return (await pool.query(`INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook, allow_simultaneous)
    VALUES ('trivial', $1, $2, $3, 'trivial.yml', true) RETURNING id`, [org, inv, project])).rows[0].id;
}

async function waitForFinal(pool: pg.Pool, jobId: number): Promise<LatencySample> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows: [j] } = await pool.query<{ status: string; running_ms: number; finished_ms: number }>(
      `SELECT status, EXTRACT(EPOCH FROM started - created) * 1000 AS running_ms, EXTRACT(EPOCH FROM finished - created) * 1000 AS finished_ms
         FROM unified_jobs WHERE id = $1`, [jobId]);
    if (['failed', 'error', 'canceled'].includes(j.status)) throw new Error(`job ${jobId} ended ${j.status}`);
    if (j.status === 'successful') return { runningMs: Number(j.running_ms), finishedMs: Number(j.finished_ms) };
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${j.status} after 120 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitForInstance(pool: pg.Pool, node: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const { rows } = await pool.query(`SELECT 1 FROM instances WHERE hostname = $1 AND last_seen > now() - interval '5 seconds'`, [node]);
    if (rows.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`dispatcher ${node} did not register`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export async function measureLaunches(opts: { pool: pg.Pool; env: NodeJS.ProcessEnv; cli: string; jt: number; n: number; warmup: number;
  listen: boolean; between?: (i: number) => Promise<void> }): Promise<LatencySample[]> {
  const node = `latency-${opts.listen ? 'notify' : 'poll'}`;
  const child = spawn(process.execPath, [opts.cli, 'dispatcher'], {
    env: { ...opts.env, PLAYSTREAM_NODE_NAME: node, ...(opts.listen ? {} : { PLAYSTREAM_DISPATCHER_LISTEN: 'off' }) },
    stdio: ['ignore', 'ignore', process.env.BENCH_DEBUG ? 'inherit' : 'ignore'],
  });
  try {
    await waitForInstance(opts.pool, node);
    // Only this node may take the jobs: the other mode's (stopped) instance leaves placement.
    await opts.pool.query(`UPDATE instances SET node_state = 'unavailable', capacity = 0 WHERE hostname <> $1`, [node]);
    const samples: LatencySample[] = [];
    for (let i = 0; i < opts.warmup + opts.n; i++) {
      await opts.between?.(i);
      const s = await waitForFinal(opts.pool, await launchJobTemplate(opts.pool, opts.jt));
      if (i >= opts.warmup) samples.push(s);
    }
    return samples;
  } finally {
    await stop(child);
  }
}

/**
 * ansible-runner alone, spawn to exit, on what a Playstream job gives it: the same private
 * data dir layout (inventory, env files, project link), arguments and environment as
 * run-unified-job.ts, stdout piped and drained.
 */
export async function runRawRunner(dataDir: string, i: number): Promise<number> {
  const dir = createPrivateDataDir(path.join(dataDir, 'raw'), i);
  writeInventory(dir, INVENTORY);
  writeEnvFiles(dir, { extraVars: {}, passwords: {}, envvars: {}, cmdline: [] });
  fs.symlinkSync(path.join(dataDir, 'projects', 'latency'), path.join(dir, 'project'));
  const env = { ...process.env, ANSIBLE_FORCE_COLOR: 'True', ANSIBLE_HOST_KEY_CHECKING: 'False', PYTHONUNBUFFERED: '1' };
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const c = spawn('ansible-runner', ['run', dir, '--json', '--ident', String(i), '-p', 'trivial.yml'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout.resume();
    c.stderr.resume();
    c.once('close', resolve);
  });
  const ms = performance.now() - t0;
  fs.rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`ansible-runner exited ${code}`);
  return ms;
}

export async function benchLaunchLatency(opts: { pool: pg.Pool; databaseUrl: string; redisUrl: string; dir: string; n: number }): Promise<string[]> {
  const dataDir = path.join(opts.dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const cli = await buildCli(path.join(packageRoot, 'dist', 'bench-scheduler-cli'));
  const jt = await setUpTemplate(opts.pool, dataDir);
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: opts.databaseUrl, REDIS_URL: opts.redisUrl, PLAYSTREAM_DATA_DIR: dataDir,
    PLAYSTREAM_REDIS_PREFIX: 'bench:', SECRET_KEY: crypto.randomBytes(32).toString('hex'), PLAYSTREAM_DISPATCHER_WORKERS: '2',
    PLAYSTREAM_AUTO_INSTALL: 'false', PLAYSTREAM_LOG_LEVEL: 'warn' };
  // The runner alone is measured between the launches, so both see the same load on shared cores.
  const raw: number[] = [];
  const warmup = 3;
  const notify = await measureLaunches({ pool: opts.pool, env, cli, jt, n: opts.n, warmup, listen: true,
    between: async (i) => { const ms = await runRawRunner(dataDir, i); if (i >= warmup) raw.push(ms); } });
  const poll = await measureLaunches({ pool: opts.pool, env, cli, jt, n: Math.max(5, Math.round(opts.n / 2)), warmup: 1, listen: false });
  const row = (name: string, v: number[]) => `${name.padEnd(56)} p50 ${percentile(v, 50).toFixed(0).padStart(5)} ms   p99 ${percentile(v, 99).toFixed(0).padStart(5)} ms   (n=${v.length})`;
  return [
    `launch latency, trivial job (1 debug task on localhost), idle capacity, 2 warm workers:`,
    row('submit → running (LISTEN/NOTIFY wake-up)', notify.map((s) => s.runningMs)),
    row('submit → successful (LISTEN/NOTIFY wake-up)', notify.map((s) => s.finishedMs)),
    row('baseline: submit → running (polling only)', poll.map((s) => s.runningMs)),
    row('baseline: submit → successful (polling only)', poll.map((s) => s.finishedMs)),
    row('baseline: ansible-runner alone, spawn → exit', raw),
    row('Playstream overhead: successful − runner alone (pairs)', notify.map((s, i) => s.finishedMs - raw[i])),
  ];
}
