import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { createGitRepo, waitForStatus } from '../scheduler/support.js';

/**
 * The five workflow modules of Debian's awx.awx collection, unchanged, against a running
 * Playstream (web here, dispatcher and receiver as child processes): workflow_job_template
 * with its workflow_nodes schema (run twice, the second changing nothing),
 * workflow_job_template_node, workflow_launch, workflow_approval and workflow_node_wait.
 */
const run = promisify(execFile);
const bin = path.resolve('bin/playstream.js');
const playbook = path.resolve('tests/workflows/awx-workflows.yml');

let env: TestEnv;
let url: string;
let repoUrl: string;
const children: ChildProcess[] = [];

async function runPlaybook(tag: string): Promise<{ stdout: string; changed: number; failed: number }> {
  const res = await run('ansible-playbook', ['-i', 'localhost,', '-c', 'local', playbook, '-t', tag, '-e', JSON.stringify({ repo_url: repoUrl })], {
    env: { ...process.env, CONTROLLER_HOST: url, CONTROLLER_USERNAME: 'admin', CONTROLLER_PASSWORD: 'admin-password',
      CONTROLLER_VERIFY_SSL: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ANSIBLE_LOCAL_TEMP: path.join(env.dataDir, 'ansible-tmp'),
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3' },
    maxBuffer: 16 * 1024 * 1024, timeout: 150_000,
  }).catch((err: { stdout?: string; stderr?: string }) => {
    throw new Error(`ansible-playbook failed:\n${err.stdout}\n${err.stderr}`);
  });
  const m = res.stdout.match(/localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/);
  if (!m) throw new Error(`no recap in:\n${res.stdout}`);
  return { stdout: res.stdout, changed: +m[1], failed: +m[2] };
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  const repo = path.join(env.dataDir, 'wf-repo');
  fs.mkdirSync(repo, { recursive: true });
  createGitRepo(repo, {
    'hello.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg="{{ greeting | default(\'hello\') }}"\n',
    'fail.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - fail: msg=boom\n',
  });
  repoUrl = `file://${repo}`;
  for (const role of ['dispatcher', 'receiver']) {
    const child = spawn(process.execPath, [bin, role], { env: env.env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (process.env.PS_TEST_DEBUG) process.stderr.write(`[${role}] ${d}`); });
    children.push(child);
  }
});

afterAll(async () => {
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  })));
});

describe('awx.awx workflow modules', () => {
  it('build a workflow (idempotently), launch it, approve its gate and wait for a node', async () => {
    const first = await runPlaybook('configure');
    expect(first.failed).toBe(0);
    const q = async (sql: string, params: unknown[] = []) => (await env.pool.query(sql, params)).rows;
    const [wfjt] = await q(`SELECT id FROM workflow_job_templates WHERE name = 'WF'`);
    const nodes = await q(`SELECT n.identifier, n.unified_job_template_id, n."limit" FROM workflow_job_template_nodes n
      WHERE n.workflow_job_template_id = $1 ORDER BY identifier`, [wfjt.id]);
    expect(nodes.map((n) => n.identifier)).toEqual(['after', 'extra', 'fails', 'gate', 'rescue']);
    const edges = await q(`SELECT f.identifier AS from, e.kind, t.identifier AS to FROM workflow_job_template_node_edges e
      JOIN workflow_job_template_nodes f ON f.id = e.from_id JOIN workflow_job_template_nodes t ON t.id = e.to_id ORDER BY 1`);
    expect(edges).toEqual([{ from: 'fails', kind: 'failure', to: 'rescue' }, { from: 'gate', kind: 'success', to: 'after' },
      { from: 'rescue', kind: 'success', to: 'gate' }]);
    const [gate] = await q(`SELECT a.name, a.timeout FROM workflow_approval_templates a JOIN workflow_job_template_nodes n
      ON n.unified_job_template_id = a.id WHERE n.identifier = 'gate'`);
    expect(gate).toEqual({ name: 'WF Gate', timeout: 600 });

    const second = await runPlaybook('configure');
    expect(second.failed).toBe(0);
    expect(second.changed, second.stdout).toBe(0);

    const ran = await runPlaybook('run');
    expect(ran.failed).toBe(0);
    const wj = Number(ran.stdout.match(/WORKFLOW_JOB=(\d+)/)![1]);
    const done = await waitForStatus(env.pool, wj, ['successful', 'failed', 'error', 'canceled'], 120_000);
    const states = Object.fromEntries((await q(`SELECT n.identifier, j.kind, j.status FROM workflow_job_nodes n
      JOIN unified_jobs j ON j.id = n.job_id WHERE n.workflow_job_id = $1`, [wj])).map((r) => [r.identifier, `${r.kind}:${r.status}`]));
    expect(states).toEqual({ fails: 'job:failed', rescue: 'job:successful', gate: 'workflow_approval:successful', after: 'job:successful',
      extra: 'job:successful' });
    expect(done.status).toBe('successful');
  }, 400_000);
});
