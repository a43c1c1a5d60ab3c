import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { onCleanup, useTestEnv, type TestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';

/**
 * The reference client: a playbook using only Debian's `awx.awx` modules, unchanged,
 * against a running Playstream (web in this process, dispatcher and receiver as the real
 * child processes). The first pass creates everything and runs a job; the second pass, its
 * state modules only, must find nothing to change.
 */
const run = promisify(execFile);
const bin = path.resolve('bin/playstream.js');
const playbook = path.resolve('tests/api/awx-playbook.yml');

let env: TestEnv;
let url: string;
const children: ChildProcess[] = [];
const hooks: { headers: http.IncomingHttpHeaders; body: any }[] = [];
let hookUrl: string;
let repoUrl: string;

function startChild(role: string): ChildProcess {
  const child = spawn(process.execPath, [bin, role], { env: env.env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (process.env.PS_TEST_DEBUG) process.stderr.write(`[${role}] ${d}`); });
  children.push(child);
  return child;
}

function makeRepo(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'hello.yml'),
    '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "{{ greeting | default(\'hello\') }} from {{ inventory_hostname }}"\n');
  fs.writeFileSync(path.join(dir, 'slow.yml'),
    '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sleep 120\n');
  const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@localhost', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@localhost' };
  for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['commit', '-q', '-m', 'playbooks']]) {
    execFileSync('git', args, { cwd: dir, env: gitEnv, stdio: 'ignore' });
  }
  return `file://${dir}`;
}

async function runPlaybook(extra: string[] = []): Promise<{ stdout: string; recap: Record<string, number> }> {
  const res = await run('ansible-playbook', [...extra, '-i', 'localhost,', '-c', 'local', playbook,
    '-e', JSON.stringify({ repo_url: repoUrl, webhook_url: hookUrl })], {
    env: { ...process.env, CONTROLLER_HOST: url, CONTROLLER_USERNAME: 'admin', CONTROLLER_PASSWORD: 'admin-password',
      CONTROLLER_VERIFY_SSL: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ANSIBLE_LOCAL_TEMP: path.join(env.dataDir, 'ansible-tmp'),
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3' },
    maxBuffer: 16 * 1024 * 1024, timeout: 600_000,
  }).catch((err: { stdout?: string; stderr?: string }) => {
    throw new Error(`ansible-playbook failed:\n${err.stdout}\n${err.stderr}`);
  });
  const m = res.stdout.match(/localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/);
  if (!m) throw new Error(`no recap in:\n${res.stdout}`);
  return { stdout: res.stdout, recap: { ok: +m[1], changed: +m[2], unreachable: +m[3], failed: +m[4] } };
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  repoUrl = makeRepo(path.join(env.dataDir, 'playbook-repo'));
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try { hooks.push({ headers: req.headers, body: JSON.parse(body) }); } catch { hooks.push({ headers: req.headers, body }); }
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  onCleanup(() => new Promise<void>((r) => receiver.close(() => r())));
  startChild('dispatcher');
  startChild('receiver');
});

afterAll(async () => {
  await Promise.all(children.map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  })));
});

describe('awx.awx collection', () => {
  it('configures everything and runs a job, then a second pass changes nothing', async () => {
    const first = await runPlaybook();
    expect(first.recap.failed).toBe(0);
    expect(first.recap.changed).toBeGreaterThanOrEqual(12);

    const q = async (sql: string, params: unknown[] = []) => (await env.pool.query(sql, params)).rows;
    const [org] = await q(`SELECT id FROM organizations WHERE name = 'Playbook Org'`);
    expect(org).toBeDefined();
    const [alice] = await q(`SELECT id FROM users WHERE username = 'alice'`);
    expect(alice).toBeDefined();
    // The execution_environment module made its EE; the template names the host sandbox, which its job ran in.
    expect(await q(`SELECT organization_id, image, pull, managed FROM execution_environments WHERE name = 'Playbook EE'`))
      .toEqual([{ organization_id: org.id, image: 'quay.io/ansible/awx-ee:24.6.1', pull: 'missing', managed: false }]);
    const [sandbox] = await q('SELECT id FROM execution_environments WHERE managed');
    expect((await q(`SELECT execution_environment_id FROM job_templates WHERE name = 'Hello'`))[0].execution_environment_id).toBe(sandbox.id);
    const launched = Number(first.stdout.match(/LAUNCHED=(\d+)/)![1]);
    const slow = Number(first.stdout.match(/SLOW=(\d+)/)![1]);
    const [job] = await q('SELECT status, execution_environment_id FROM unified_jobs WHERE id = $1', [launched]);
    expect(job.status).toBe('successful');
    expect(job.execution_environment_id).toBe(sandbox.id);
    const deadline = Date.now() + 20_000;
    let slowStatus = '';
    while (Date.now() < deadline) {
      slowStatus = (await q('SELECT status FROM unified_jobs WHERE id = $1', [slow]))[0].status;
      if (['canceled', 'successful', 'failed', 'error'].includes(slowStatus)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(slowStatus).toBe('canceled');

    // The success notification reached the webhook receiver with the configured header.
    const hookDeadline = Date.now() + 15_000;
    while (!hooks.some((h) => h.body?.id === launched) && Date.now() < hookDeadline) await new Promise((r) => setTimeout(r, 200));
    const hook = hooks.find((h) => h.body?.id === launched);
    expect(hook?.body).toMatchObject({ id: launched, status: 'successful', name: 'Hello' });
    expect(hook?.headers['x-test']).toBe('playstream');

    // The team's execute role reaches alice through membership.
    const aliceAuth = { authorization: `Basic ${Buffer.from('alice:alice-password-1').toString('base64')}` };
    const seen = await (await fetch(`${url}/api/v2/job_templates/?name=Hello`, { headers: aliceAuth })).json() as { count: number; results: any[] };
    expect(seen.count).toBe(1);
    expect(seen.results[0].summary_fields.user_capabilities.start).toBe(true);

    // The ad hoc command ran for real; the settings module's "True" was stored as a boolean.
    const adhoc = Number(first.stdout.match(/ADHOC=(\d+)/)![1]);
    expect((await q('SELECT kind, status, module_args FROM unified_jobs WHERE id = $1', [adhoc]))[0])
      .toEqual({ kind: 'ad_hoc_command', status: 'successful', module_args: 'echo adhoc-from-awx' });
    expect(await q(`SELECT key, value FROM api_settings WHERE key IN ('PROJECT_UPDATE_VVV', 'SCHEDULE_MAX_JOBS') ORDER BY key`))
      .toEqual([{ key: 'PROJECT_UPDATE_VVV', value: true }, { key: 'SCHEDULE_MAX_JOBS', value: 12 }]);

    // The schedule's limit and inventory prompts are what its run uses: made due, the dispatcher launches it.
    const [limited] = await q(`SELECT id FROM schedules WHERE name = 'Limited hello'`);
    const [invB] = await q(`SELECT id FROM inventories WHERE name = 'Playbook Inventory B'`);
    await q(`UPDATE schedules SET next_run = now() - interval '1 second' WHERE id = $1`, [limited.id]);
    let scheduled: Record<string, any> | undefined;
    for (const until = Date.now() + 40_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
      [scheduled] = await q(`SELECT id, status, inventory_id, "limit" FROM unified_jobs WHERE schedule_id = $1 AND event_processing_finished`, [limited.id]);
      if (scheduled) break;
    }
    expect(scheduled).toMatchObject({ status: 'successful', limit: 'localhost' });
    expect(Number(scheduled!.inventory_id)).toBe(Number(invB.id));
    expect(await q('SELECT host_name FROM job_host_summaries WHERE job_id = $1', [scheduled!.id])).toEqual([{ host_name: 'localhost' }]);

    // The schedule_rrule lookup's rule (every other Monday and Friday at 04:00 Paris time, ten
    // runs) is kept as written and runs first at 03:00 UTC on Monday 1 January 2035.
    const [weekly] = await q(`SELECT rrule, next_run FROM schedules WHERE name = 'Weekly hello'`);
    expect(weekly.rrule).toMatch(/^DTSTART;TZID=Europe\/Paris:20350101T040000 RRULE:FREQ=WEEKLY;/);
    expect(weekly.rrule).toMatch(/BYDAY=MO,FR/);
    expect(weekly.rrule).toMatch(/COUNT=10/);
    expect(weekly.next_run.toISOString()).toBe('2035-01-01T03:00:00.000Z');

    // Platform modules: the application (secret kept as a hash only), the bulk job and its node's job, the added node.
    const [app] = await q(`SELECT client_type, authorization_grant_type, redirect_uris, length(client_secret_hash) AS hash FROM oauth2_applications WHERE name = 'Playbook App'`);
    expect(app).toEqual({ client_type: 'confidential', authorization_grant_type: 'password', redirect_uris: 'https://app.example/callback', hash: 64 });
    expect(await q(`SELECT count(*)::int AS n FROM api_tokens t JOIN oauth2_applications a ON a.id = t.application_id WHERE a.name = 'Playbook App'`))
      .toEqual([{ n: 0 }]);
    const bulkJob = Number(first.stdout.match(/BULKJOB=(\d+)/)![1]);
    expect((await q('SELECT kind, status, is_bulk_job FROM unified_jobs WHERE id = $1', [bulkJob]))[0])
      .toEqual({ kind: 'workflow_job', status: 'successful', is_bulk_job: true });
    expect(await q(`SELECT j.status FROM workflow_job_nodes n JOIN unified_jobs j ON j.id = n.job_id WHERE n.workflow_job_id = $1`, [bulkJob]))
      .toEqual([{ status: 'successful' }]);
    expect((await q(`SELECT count(*)::int AS n FROM hosts WHERE name LIKE 'bulk-%'`))[0].n).toBe(2);
    expect((await q(`SELECT node_type, node_state, listener_port, managed_by_policy, capacity_adjustment::float AS adj, last_health_check IS NOT NULL AS checked
      FROM instances WHERE hostname = 'exec1.playbook.example'`))[0])
      .toEqual({ node_type: 'execution', node_state: 'installed', listener_port: 27199, managed_by_policy: false, adj: 0.5, checked: true });

    // The second pass is about state: actions (tagged `action`: launches, tokens, bulk, lookups) ran once.
    const second = await runPlaybook(['--skip-tags', 'action']);
    expect(second.recap.failed).toBe(0);
    expect(second.recap.changed, second.stdout).toBe(0);
  }, 1_500_000);
});
