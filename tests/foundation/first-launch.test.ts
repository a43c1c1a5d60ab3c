import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/services/free-port.js';
import { binaries, findBinary } from '../../src/services/system-packages.js';
import { cliBundle, waitFor } from '../scheduler/support.js';

/**
 * A newcomer's first launch (issue #11): `playstream start` on a machine without
 * ansible-runner and ansible-core, where it may not install them, still starts; it says
 * which packages are missing, registers its instance with capacity 0 and the reason in
 * `errors`, and a launched Demo Job Template waits as pending with that reason instead of
 * crashing into `error`. Started again with the programs on PATH, the same job runs.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-first-launch-'));
fs.chmodSync(dataDir, 0o755);
const children: ChildProcess[] = [];
// A start left running by a failed assertion gets SIGTERM, so it stops its Postgres and Redis too.
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) await stop(c);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A PATH holding only node, the embedded services' programs, git and `id`: no ansible-runner, no ansible-playbook. */
function pathWithoutAnsible(): string {
  const dir = path.join(dataDir, 'bin');
  fs.mkdirSync(dir, { recursive: true });
  const links: Record<string, string | undefined> = {
    node: process.execPath,
    'redis-server': findBinary(binaries.redisServer),
    git: findBinary(binaries.git),
    id: findBinary({ name: 'id', debianPackage: 'coreutils' }),
  };
  for (const [name, target] of Object.entries(links)) {
    if (!target) throw new Error(`${name} is needed to build the test PATH`);
    fs.symlinkSync(target, path.join(dir, name));
  }
  return dir;
}

async function start(port: number, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  const full: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), PLAYSTREAM_DATA_DIR: dataDir,
    PLAYSTREAM_ADMIN_PASSWORD: 'newcomer-pw', PLAYSTREAM_HEARTBEAT_SECONDS: '1', ...env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'SECRET_KEY']) delete full[k];
  const child = spawn(process.execPath, [cliBundle(), 'start'], { env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const deadline = Date.now() + 90_000;
  while (!out.includes('Console:')) {
    if (child.exitCode !== null) throw new Error(`start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`no console URL within 90 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<number> {
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  child.kill('SIGTERM');
  return exited;
}

const auth = { authorization: `Basic ${Buffer.from('admin:newcomer-pw').toString('base64')}` };

async function api(port: number, url: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, { ...init, headers: { ...auth, 'content-type': 'application/json', ...init.headers } });
  if (res.status >= 300) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

describe('first launch on a fresh machine', () => {
  it('without ansible-runner holds the Demo Job Template pending with the package named, and runs it once the programs are there', async () => {
    const port = await freePort();
    const bare = await start(port, { PATH: pathWithoutAnsible(), PLAYSTREAM_AUTO_INSTALL: 'false' });
    const warnings = bare.output().split('\n').filter((l) => l.includes('cannot run jobs'));
    expect(warnings.join('\n')).toContain('python3-ansible-runner');
    expect(warnings.join('\n')).toContain('ansible-core');
    // Said once at start-up (the log line), and in the welcome banner.
    expect(warnings.filter((l) => l.includes(' WARN '))).toHaveLength(1);
    expect(bare.output()).toMatch(/Jobs: +stay pending: this node cannot run jobs: ansible-runner \(Debian package python3-ansible-runner\)/);

    const { results: [instance] } = await api(port, '/api/v2/instances/');
    expect(instance.capacity).toBe(0);
    expect(instance.errors).toContain('ansible-runner (Debian package python3-ansible-runner)');
    expect(instance.errors).toContain('ansible-playbook (Debian package ansible-core)');
    // Jobs run in the bubblewrap sandbox: bwrap is required like the rest.
    expect(instance.errors).toContain('bwrap (Debian package bubblewrap)');

    const { results: [jt] } = await api(port, '/api/v2/job_templates/?name=Demo+Job+Template');
    const launched = await api(port, `/api/v2/job_templates/${jt.id}/launch/`, { method: 'POST', body: '{}' });
    const jobId: number = launched.job ?? launched.id;
    const held = await waitFor(async () => {
      const j = await api(port, `/api/v2/jobs/${jobId}/`);
      return j.job_explanation.includes('python3-ansible-runner') ? j : null;
    }, 30_000, 'the job explanation to name the package');
    expect(held.status).toBe('pending');
    expect(held.job_explanation).toMatch(/^waiting for an instance that can run it: \S+ cannot run jobs: ansible-runner/);
    // Several task manager passes later it is still pending, not launched into a crash.
    await new Promise((r) => setTimeout(r, 6000));
    expect((await api(port, `/api/v2/jobs/${jobId}/`)).status).toBe('pending');
    expect(await stop(bare.child)).toBe(0);

    const full = await start(port, { PLAYSTREAM_AUTO_INSTALL: 'false' });
    expect(full.output()).not.toContain('cannot run jobs');
    const { results: [ready] } = await api(port, '/api/v2/instances/');
    expect(ready.capacity).toBeGreaterThan(0);
    expect(ready.errors).toBe('');
    const done = await waitFor(async () => {
      const j = await api(port, `/api/v2/jobs/${jobId}/`);
      return ['successful', 'failed', 'error', 'canceled'].includes(j.status) ? j : null;
    }, 120_000, `job ${jobId} to finish`);
    expect(done.status, done.job_explanation).toBe('successful');
    const events = await waitFor(async () => {
      const page = await api(port, `/api/v2/jobs/${jobId}/job_events/?page_size=200`);
      return page.results.some((e: { event: string }) => e.event === 'playbook_on_stats') ? page : null;
    }, 30_000, 'the job events');
    expect(events.results.map((e: { event: string }) => e.event)).toEqual(expect.arrayContaining(['playbook_on_start', 'runner_on_ok']));
    expect(await stop(full.child)).toBe(0);
  }, 300_000);
});
