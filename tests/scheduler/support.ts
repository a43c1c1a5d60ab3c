import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { streamStdout } from '../../src/pipeline/stdout-stream.js';
import { heartbeat } from '../../src/scheduler/cluster.js';
import { launchProjectUpdate } from '../../src/scheduler/launch.js';
import { runUnifiedJob } from '../../src/scheduler/run-unified-job.js';
import { claimTasks } from '../../src/scheduler/task-queue.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import { onCleanup, type TestEnv } from '../support/harness.js';
import { alive } from '../support/processes.js';

/** Helpers shared by the scheduler tests: a real dispatcher process, a git project, waiting on job status. */

/**
 * This test file's own copy of the CLI bundle. dist/cli.js is shared by everyone working in
 * this tree, and every vitest run (anyone's) rebuilds it from that engineer's working copy:
 * a process started from it minutes into a run (a `dispatcher --status`, a worker forked on
 * demand) could load someone's half-finished code, or a half-written file. The copy is
 * taken once per file, checked to start, and is what every process of the file runs;
 * dispatcher workers are forked from their dispatcher's own bundle (worker-pool.ts).
 */
let bundle: string | null = null;
export function cliBundle(): string {
  if (bundle) return bundle;
  const root = path.resolve('dist', 'test-bundles');
  // Copies left by test processes that were killed before their afterAll ran.
  for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    if (!alive(Number(name.split('-')[0]))) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
  const dir = path.join(root, `${process.pid}-${crypto.randomBytes(3).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  onCleanup(() => { fs.rmSync(dir, { recursive: true, force: true }); bundle = null; });
  const copy = path.join(dir, 'cli.js');
  for (let attempt = 1; ; attempt++) {
    fs.copyFileSync(path.resolve('dist', 'cli.js'), copy);
    try {
      execFileSync(process.execPath, [copy, 'version'], { stdio: 'pipe' });
      return (bundle = copy);
    } catch (err) {
      // A rebuild was being written as we copied: the next copy is whole.
      if (attempt === 5) throw err;
      execFileSync('sleep', ['1']);
    }
  }
}

/** Runs `playstream <args>` from this file's bundle and returns its stdout. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync(process.execPath, [cliBundle(), ...args], { env, encoding: 'utf8' });
}

export function startDispatcher(env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [cliBundle(), 'dispatcher'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (process.env.PS_TEST_DEBUG) process.stderr.write(d); });
  return child;
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function waitForStatus(pool: pg.Pool, jobId: number, statuses: string[], timeoutMs = 90_000): Promise<Record<string, any>> {
  return waitFor(async () => {
    const { rows: [j] } = await pool.query('SELECT * FROM unified_jobs WHERE id = $1', [jobId]);
    return j && statuses.includes(j.status) ? j : null;
  }, timeoutMs, `job ${jobId} to reach ${statuses.join('/')}`);
}

/** A git repository with the given files, committed on `main`. */
export function createGitRepo(dir: string, files: Record<string, string>): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore', env: { ...process.env,
    GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@localhost', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@localhost' } });
  if (!fs.existsSync(path.join(dir, '.git'))) git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'update');
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
}

/** Every event the runner pushed to Redis for one job (the receiver's intake). */
export async function pushedEvents(t: TestEnv, refField: string, jobId: number): Promise<Record<string, any>[]> {
  const raw = await t.redis.lrange(t.config.redisPrefix + t.config.callbackQueue, 0, -1);
  return raw.map((r) => JSON.parse(r)).filter((e) => e[refField] === jobId);
}

export async function orgId(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(`INSERT INTO organizations (name) VALUES ('Org ' || gen_random_uuid()) RETURNING id`);
  return rows[0].id;
}

/**
 * Runs one launched job in this process along the real path minus the process boundary:
 * this test's node heartbeats, a task manager pass places the job on it, the node's task is
 * claimed from the queue and run by runUnifiedJob (what a dispatcher worker does with it).
 */
export async function runInProcess(t: TestEnv, jobId: number): Promise<Record<string, any>> {
  await heartbeat(t.pool, t.config.nodeName);
  await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
  const tasks = await claimTasks(t.pool, t.config.nodeName, 10);
  if (tasks.length !== 1 || tasks[0].args.job_id !== jobId) throw new Error(`expected one task for job ${jobId}, got ${JSON.stringify(tasks)}`);
  await runUnifiedJob({ pool: t.pool, redis: t.redis, config: t.config, secrets: t.secrets, onCancel: () => () => {} }, jobId);
  return (await t.pool.query('SELECT * FROM unified_jobs WHERE id = $1', [jobId])).rows[0];
}

/**
 * The fixture the job tests share: a local git repository holding `playbooks`, a project on
 * it, and an inventory whose one host is localhost run with the playbook's own Python.
 */
export async function createProjectAndInventory(t: TestEnv, org: number, playbooks: Record<string, string>): Promise<{ project: number; inventory: number }> {
  const repo = path.join(t.dataDir, 'repo');
  createGitRepo(repo, playbooks);
  const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
    VALUES ('P', $1, 'git', $2, 'p') RETURNING id`, [org, `file://${repo}`])).rows[0].id;
  const inventory = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('I', $1) RETURNING id`, [org])).rows[0].id;
  await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('localhost', $1, $2)`,
    [inventory, 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"']);
  return { project, inventory };
}

/** createProjectAndInventory, with the project updated in this process (runInProcess) so its playbooks are checked out. */
export async function syncedProjectAndInventory(t: TestEnv, org: number, playbooks: Record<string, string>): Promise<{ project: number; inventory: number }> {
  const made = await createProjectAndInventory(t, org, playbooks);
  const update = await runInProcess(t, await launchProjectUpdate(t.pool, made.project));
  if (update.status !== 'successful') throw new Error(`project update ${update.id} ended ${update.status}: ${update.job_explanation}`);
  return made;
}

/** A job template row: the columns given over the test's defaults (allow_simultaneous, so jobs never queue behind each other). */
export async function insertJobTemplate(pool: pg.Pool, cols: Record<string, unknown>): Promise<number> {
  const all: Record<string, unknown> = { allow_simultaneous: true, ...cols };
  const keys = Object.keys(all);
  const { rows } = await pool.query(`INSERT INTO job_templates (${keys.map((k) => `"${k}"`).join(',')})
    VALUES (${keys.map((_, i) => `$${i + 1}`).join(',')}) RETURNING id`, Object.values(all));
  return rows[0].id;
}

/**
 * A job done from the pipeline's side too: final status saved and every event stored.
 * `created_iso` keeps Postgres's microseconds, which a JS Date would cut to milliseconds
 * and so miss the job's event partition key.
 */
export async function waitForProcessed(pool: pg.Pool, jobId: number, timeoutMs = 90_000): Promise<Record<string, any>> {
  return waitFor(async () => {
    const { rows: [j] } = await pool.query(`SELECT *, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_iso
      FROM unified_jobs WHERE id = $1`, [jobId]);
    return j?.event_processing_finished ? j : null;
  }, timeoutMs, `job ${jobId} events processed`);
}

/**
 * The path a job takes after launch, for real: a dispatcher process (started with
 * `dispatcherEnv`) and the receiver in this process; the project is synced before it returns.
 */
export async function startJobStack(t: TestEnv, project: number, dispatcherEnv: NodeJS.ProcessEnv = t.env): Promise<{
  receiver: ReceiverHandle; dispatcher: ChildProcess; stop(): Promise<void>;
}> {
  const receiver = await startReceiver({ config: t.config, pool: t.pool, redis: t.redis, workers: 2 });
  const dispatcher = startDispatcher(dispatcherEnv);
  const stop = async () => { await stopProcess(dispatcher); await receiver.close(); };
  const update = await waitForStatus(t.pool, await launchProjectUpdate(t.pool, project), ['successful', 'failed', 'error']);
  if (update.status !== 'successful') {
    await stop();
    throw new Error(`project update ${update.status}: ${update.job_explanation} ${update.result_traceback}`);
  }
  return { receiver, dispatcher, stop };
}

/** A job's stored stdout, ANSI stripped, as the API's stdout endpoint assembles it. */
export async function storedStdout(pool: pg.Pool, jobId: number, jobCreatedIso: string, table = 'job_events'): Promise<string> {
  let out = '';
  await streamStdout(pool, { table, jobId, jobCreated: jobCreatedIso, startLine: 0, endLine: null, stripAnsi: true },
    async (chunk) => { out += chunk; });
  return out;
}
