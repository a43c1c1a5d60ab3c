import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPrivateDataDir, writeEnvFiles, writeInventory } from '../../src/scheduler/private-data-dir.js';
import { RUNNER_PROGRAM, runnerArgs, startRunner } from '../../src/scheduler/runner-process.js';
import { hostLayout } from '../../src/scheduler/sandbox/host-layout.js';
import { JobSandbox } from '../../src/scheduler/sandbox/job-sandbox.js';

/**
 * What the job sandbox costs a job (docs/security.md ## Job sandbox):
 *   spawn   /usr/bin/true spawned to exit, bare and inside the sandbox a job gets (the same
 *           bwrap argument list), interleaved so both see the same load;
 *   layout  the /etc walk that finds what to hide (cached a minute per process);
 *   job     a trivial playbook (one debug task, local connection) through ansible-runner
 *           worker, spawn to exit, PLAYSTREAM_JOB_SANDBOX=off and bubblewrap interleaved.
 * Usage: node scripts/bench.mjs bench/scheduler/sandbox-cost.ts bench-sandbox [spawns] [jobs]
 */
const spawns = Number(process.argv[2] ?? 200);
const jobs = Number(process.argv[3] ?? 10);
const noDb = { query: async () => ({ rows: [] }) } as never;

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { env, stdio: 'ignore' });
    c.once('error', reject);
    c.once('close', (rc) => (rc === 0 ? resolve(performance.now() - t0) : reject(new Error(`${file} exited ${rc}`))));
  });
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  return `median ${q(0.5)} ms, p10 ${q(0.1)}, p90 ${q(0.9)} (n=${s.length})`;
}

async function trivialJob(root: string, i: number, mode: 'off' | 'bubblewrap'): Promise<number> {
  const dir = createPrivateDataDir(root, i);
  writeInventory(dir, { all: { hosts: { localhost: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' } } } });
  writeEnvFiles(dir, { extraVars: {}, passwords: {}, envvars: {}, cmdline: [] });
  fs.symlinkSync(path.join(root, 'projects', 'trivial'), path.join(dir, 'project'));
  const t0 = performance.now();
  const sandbox = await JobSandbox.open(noDb, { jobSandbox: mode, dataDir: root },
    { privateDir: dir, readonly: [path.join(root, 'projects', 'trivial')] });
  const runner = startRunner({ kwargs: { ident: String(i), playbook: 'trivial.yml' }, privateDataDir: dir, ident: String(i), timeoutSeconds: 120,
    env: sandbox.env({ set: { PYTHONUNBUFFERED: '1', ANSIBLE_HOST_KEY_CHECKING: 'False' } }),
    command: sandbox.command(RUNNER_PROGRAM, runnerArgs(dir), { cwd: dir, reportPid: true }), onStdout: () => {} });
  const outcome = await runner.done;
  const ms = performance.now() - t0;
  fs.rmSync(dir, { recursive: true, force: true });
  if (outcome.kind !== 'exited' || outcome.status !== 'successful') throw new Error(`trivial job ${mode}: ${JSON.stringify(outcome)}`);
  return ms;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sandbox-'));
try {
  fs.mkdirSync(path.join(root, 'projects', 'trivial'), { recursive: true });
  fs.writeFileSync(path.join(root, 'projects', 'trivial', 'trivial.yml'),
    '- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=hi\n');
  const layoutMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    hostLayout(Date.now() + (i + 1) * 61_000);
    layoutMs.push(performance.now() - t0);
  }
  const dir = createPrivateDataDir(root, 0);
  const sandbox = await JobSandbox.open(noDb, { jobSandbox: 'bubblewrap', dataDir: root }, { privateDir: dir });
  const env = sandbox.env();
  const wrapped = sandbox.command('/usr/bin/true', [], { cwd: dir, reportPid: false });
  const bare: number[] = [];
  const boxed: number[] = [];
  for (let i = 0; i < spawns; i++) {
    bare.push(await run('/usr/bin/true', [], env));
    boxed.push(await run(wrapped.file, wrapped.args, env));
  }
  console.log(`host: ${os.cpus().length} cores, ${os.cpus()[0]?.model}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`bwrap argument list: ${wrapped.args.length} arguments, ${hostLayout().hiddenEtc.length} /etc entries hidden`);
  console.log(`spawn /usr/bin/true bare:     ${stats(bare)}`);
  console.log(`spawn /usr/bin/true in bwrap: ${stats(boxed)}`);
  console.log(`/etc walk (uncached):         ${stats(layoutMs)}`);
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < jobs; i++) {
    off.push(await trivialJob(root, 1000 + 2 * i, 'off'));
    on.push(await trivialJob(root, 1001 + 2 * i, 'bubblewrap'));
  }
  console.log(`trivial job, sandbox off:     ${stats(off)}`);
  console.log(`trivial job, bubblewrap:      ${stats(on)}`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
