import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { launchAdHocCommand, launchInventoryUpdate, launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { cancelUnifiedJob } from '../../src/scheduler/submit.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { alive } from '../support/processes.js';
import { createGitRepo, createProjectAndInventory, insertJobTemplate, orgId, pushedEvents, runCli, startDispatcher, stopProcess, waitFor, waitForStatus } from './support.js';

const PLAYBOOKS = {
  'ok.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg="hello {{ who | default('world') }}"\n`,
  'ping.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n`,
  'fail.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.fail: msg=boom\n`,
  'sleep.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep {{ secs | default(120) }}\n`,
  'cred.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.copy:\n        dest: "{{ out_file }}"\n        content: "{{ secret_token }}|{{ lookup('env', 'MY_TOKEN') }}"\n    - ansible.builtin.debug: msg="token is {{ secret_token }}"\n`,
  'inventory/hosts.ini': `[web]\nweb1 ansible_host=127.0.0.1 role=front\nweb2\n[db]\ndb1\n[prod:children]\nweb\ndb\n[prod:vars]\nenv=production\n`,
};

let t: TestEnv;
let dispatcher: ReturnType<typeof startDispatcher>;
let org: number;
let project: number;
let inventory: number;

function template(name: string, playbook: string, extra: Record<string, unknown> = {}): Promise<number> {
  return insertJobTemplate(t.pool, { name, organization_id: org, inventory_id: inventory, project_id: project, playbook, ...extra });
}

beforeAll(async () => {
  t = await useTestEnv({ PLAYSTREAM_DISPATCHER_WORKERS: '6' });
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, PLAYBOOKS));
  dispatcher = startDispatcher(t.env);
  const update = await launchProjectUpdate(t.pool, project);
  const done = await waitForStatus(t.pool, update, ['successful', 'failed', 'error']);
  expect(done.status, done.job_explanation + done.result_traceback).toBe('successful');
}, 120_000);

afterAll(async () => { if (dispatcher) await stopProcess(dispatcher); });

describe('running real playbooks through the dispatcher', () => {
  it('a project update clones the git repository, records the revision and finds the playbooks', async () => {
    const { rows: [p] } = await t.pool.query('SELECT scm_revision, playbook_files FROM projects WHERE id = $1', [project]);
    expect(p.scm_revision).toMatch(/^[0-9a-f]{40}$/);
    expect(p.playbook_files).toEqual(['cred.yml', 'fail.yml', 'ok.yml', 'ping.yml', 'sleep.yml']);
    expect(fs.existsSync(path.join(t.dataDir, 'projects', 'p', 'ok.yml'))).toBe(true);
    const { rows: [u] } = await t.pool.query(`SELECT id FROM unified_jobs WHERE kind = 'project_update' ORDER BY id LIMIT 1`);
    const events = await pushedEvents(t, 'project_update_id', u.id);
    expect(events.map((e) => e.event)).toContain('playbook_on_stats');
    expect(events.at(-1)).toMatchObject({ event: 'EOF', final_counter: events.length - 1 });
  });

  it('runs success, failure, unreachable, timeout and cancel concurrently', async () => {
    const ok = await launchJobTemplate(t.pool, await template('ok', 'ok.yml'), { overrides: { extra_vars: { who: 'playstream' } } });
    const fail = await launchJobTemplate(t.pool, await template('fail', 'fail.yml'));
    const unreachInv = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('U', $1) RETURNING id`, [org])).rows[0].id;
    await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('nohost', $1, 'ansible_host: 127.0.0.1\nansible_port: 1\nansible_connection: ssh')`, [unreachInv]);
    const unreachable = await launchJobTemplate(t.pool, await template('unreach', 'ping.yml', { inventory_id: unreachInv }));
    const timeout = await launchJobTemplate(t.pool, await template('timeout', 'sleep.yml', { timeout: 3 }));
    const cancel = await launchJobTemplate(t.pool, await template('cancel', 'sleep.yml'), { overrides: { extra_vars: { secs: 121 } } });

    const okJob = await waitForStatus(t.pool, ok, ['successful', 'failed', 'error']);
    expect(okJob.status).toBe('successful');
    const okEvents = await pushedEvents(t, 'job_id', ok);
    expect(okEvents.some((e) => e.event === 'runner_on_ok' && String(e.stdout).includes('hello playstream'))).toBe(true);
    expect(okEvents.at(-1)).toMatchObject({ event: 'EOF', job_id: ok, job_created: new Date(okJob.created).toISOString() });
    expect(okJob.emitted_events).toBe(okEvents.at(-1)!.final_counter);
    expect(okJob.emitted_events).toBeGreaterThan(3);

    expect((await waitForStatus(t.pool, fail, ['successful', 'failed', 'error'])).status).toBe('failed');
    expect((await pushedEvents(t, 'job_id', fail)).some((e) => e.event === 'runner_on_failed')).toBe(true);
    expect((await waitForStatus(t.pool, unreachable, ['successful', 'failed', 'error'])).status).toBe('failed');
    expect((await pushedEvents(t, 'job_id', unreachable)).some((e) => e.event === 'runner_on_unreachable')).toBe(true);
    const timedOut = await waitForStatus(t.pool, timeout, ['successful', 'failed', 'error']);
    expect(timedOut.job_explanation).toBe('Job terminated due to timeout');

    await waitForStatus(t.pool, cancel, ['running']);
    const sleeper = await waitFor(async () => findProcess('sleep 121'), 30_000, 'the sleep task');
    expect(await cancelUnifiedJob(t.pool, cancel)).toBe(true);
    const canceled = await waitForStatus(t.pool, cancel, ['canceled', 'failed', 'error', 'successful']);
    expect(canceled.status).toBe('canceled');
    await waitFor(async () => !alive(sleeper), 15_000, 'the runner process to go');
    expect(fs.existsSync(path.join(t.dataDir, 'jobs', String(cancel)))).toBe(false);
  }, 150_000);

  it('imports an inventory from a project file, idempotently', async () => {
    const inv = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('Imported', $1) RETURNING id`, [org])).rows[0].id;
    const src = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path, source_project_id, overwrite)
      VALUES ('file', $1, 'scm', 'inventory/hosts.ini', $2, true) RETURNING id`, [inv, project])).rows[0].id;
    for (let i = 0; i < 2; i++) {
      const u = await waitForStatus(t.pool, await launchInventoryUpdate(t.pool, src), ['successful', 'failed', 'error']);
      expect(u.status, u.job_explanation).toBe('successful');
    }
    const { rows: hosts } = await t.pool.query('SELECT name, variables FROM hosts WHERE inventory_id = $1 ORDER BY name', [inv]);
    expect(hosts.map((h) => h.name)).toEqual(['db1', 'web1', 'web2']);
    expect(JSON.parse(hosts[1].variables)).toMatchObject({ ansible_host: '127.0.0.1', role: 'front' });
    const { rows: groups } = await t.pool.query('SELECT name, variables FROM groups WHERE inventory_id = $1 ORDER BY name', [inv]);
    expect(groups.map((g) => g.name)).toEqual(['db', 'prod', 'web']);
    expect(JSON.parse(groups[1].variables)).toEqual({ env: 'production' });
    const { rows: children } = await t.pool.query(`SELECT p.name AS parent, c.name AS child FROM group_children gc
      JOIN groups p ON p.id = gc.parent_id JOIN groups c ON c.id = gc.child_id WHERE p.inventory_id = $1 ORDER BY 2`, [inv]);
    expect(children).toEqual([{ parent: 'prod', child: 'db' }, { parent: 'prod', child: 'web' }]);
  }, 90_000);

  it('runs an ad hoc command on an inventory with a limit', async () => {
    const id = await launchAdHocCommand(t.pool, { inventory_id: inventory, module_name: 'command', module_args: 'echo adhoc-ran', limit: 'localhost' });
    const job = await waitForStatus(t.pool, id, ['successful', 'failed', 'error']);
    expect(job.status, job.result_traceback).toBe('successful');
    const events = await pushedEvents(t, 'ad_hoc_command_id', id);
    expect(events.some((e) => e.event === 'runner_on_ok' && String(e.stdout).includes('adhoc-ran'))).toBe(true);
  }, 90_000);

  it('answers dispatcher --status with its workers', async () => {
    const out = JSON.parse(runCli(['dispatcher', '--status'], t.env));
    expect(out.node).toBe(t.config.nodeName);
    expect(out.workers.length).toBeGreaterThan(0);
    expect(out.workers[0].rss).toBeGreaterThan(0);
  });

  it('answers dispatcher --running, cancels a running task by uuid, and --reload recycles every worker', async () => {
    const sleeper = await launchJobTemplate(t.pool, await template('control', 'sleep.yml'), { overrides: { extra_vars: { secs: 123 } } });
    await waitForStatus(t.pool, sleeper, ['running']);
    const before = JSON.parse(runCli(['dispatcher', '--status'], t.env)) as { workers: { pid: number; task: { uuid: string; args: { job_id: number } } | null }[] };
    const task = before.workers.find((w) => w.task?.args.job_id === sleeper)!.task!;
    expect(JSON.parse(runCli(['dispatcher', '--running'], t.env))).toEqual([task.uuid]);

    expect(JSON.parse(runCli(['dispatcher', '--reload'], t.env))).toEqual({ reloaded: true });
    expect(JSON.parse(runCli(['dispatcher', '--cancel', task.uuid], t.env))).toEqual({ canceled: true, uuid: task.uuid });
    const canceled = await waitForStatus(t.pool, sleeper, ['canceled', 'failed', 'error', 'successful']);
    expect(canceled.status).toBe('canceled');
    // Idle workers left at once, the busy one after its task: none of the old processes remains.
    for (const w of before.workers) await waitFor(async () => !alive(w.pid), 30_000, `worker ${w.pid} to be recycled`);
    expect(JSON.parse(runCli(['dispatcher', '--cancel', task.uuid], t.env))).toEqual({ canceled: false, uuid: task.uuid });

    const ok = await waitForStatus(t.pool, await launchJobTemplate(t.pool, await template('after-reload', 'ok.yml')), ['successful', 'failed', 'error']);
    expect(ok.status).toBe('successful');
    const after = JSON.parse(runCli(['dispatcher', '--status'], t.env)) as { workers: { pid: number }[] };
    expect(after.workers.length).toBeGreaterThan(0);
    expect(after.workers.some((w) => before.workers.some((b) => b.pid === w.pid))).toBe(false);
  }, 90_000);
});

function findProcess(cmdline: string): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === cmdline) return Number(entry);
    } catch { /* gone */ }
  }
  return null;
}
