import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobDir } from '../../src/scheduler/private-data-dir.js';
import { launchInventoryUpdate, launchJobTemplate } from '../../src/scheduler/launch.js';
import { cancelUnifiedJob } from '../../src/scheduler/submit.js';
import { adminUrl, useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, createProjectAndInventory, insertJobTemplate, orgId, startJobStack, storedStdout, waitFor, waitForProcessed, waitForStatus } from '../scheduler/support.js';

/**
 * Issue #12, the job sandbox: a playbook that reads the controller's secrets, run through a
 * real dispatcher process (started, like `playstream start` starts it, with DATABASE_URL,
 * REDIS_URL and SECRET_KEY in its environment) and the real receiver, while another job is
 * running. Each test is one of the attacks; each finds none of the controller's
 * variables, files or processes — in what the job printed, in its gathered facts, in every
 * stored event. A positive control in each keeps it honest: the attack ran, and failed.
 */
const SECRET_FILE_CONTENT = `key-file-${crypto.randomBytes(12).toString('hex')}`;
const OTHER_MARKER = `other-job-${crypto.randomBytes(8).toString('hex')}`;

const PLAYBOOKS: Record<string, string> = {
  'leak.yml': `- hosts: all
  gather_facts: true
  tasks:
    - name: lookups
      ansible.builtin.debug:
        msg: "ENV DATABASE_URL=[{{ lookup('env', 'DATABASE_URL') }}] REDIS_URL=[{{ lookup('env', 'REDIS_URL') }}] SECRET_KEY=[{{ lookup('env', 'SECRET_KEY') }}]"
    - name: environment
      ansible.builtin.shell: env
    - name: gathered env
      ansible.builtin.debug: var=ansible_env
    - name: secret key file
      ansible.builtin.shell: "cat {{ playbook_dir }}/../../secret_key 2>&1; true"
    - name: other job
      ansible.builtin.shell: "ls -la {{ other_dir }} 2>&1; cat {{ other_dir }}/env/extravars 2>&1; true"
    - name: postgres and redis
      ansible.builtin.shell: "ls -la {{ pg_data }} {{ redis_dir }} 2>&1; cat {{ pg_data }}/PG_VERSION 2>&1; true"
    - name: data dir
      ansible.builtin.shell: "ls -a {{ data_dir }}"
    - name: processes
      ansible.builtin.shell: |
        for p in /proc/[0-9]*; do printf '%s: ' "\${p#/proc/}"; tr '\\0' ' ' < $p/cmdline; echo; done
`,
  'other.yml': `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.shell: "sleep 300 # {{ marker }}"
`,
  'inventory/leak.py': `#!/usr/bin/env python3
import json, os, sys
if len(sys.argv) > 1 and sys.argv[1] == '--host':
    print('{}')
    sys.exit(0)
def read(p):
    try:
        return open(p).read()
    except Exception as e:
        return 'ERR ' + type(e).__name__
procs = []
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            procs.append(open('/proc/%s/cmdline' % pid, 'rb').read().replace(b'\\0', b' ').decode())
        except Exception:
            pass
here = os.path.dirname(os.path.abspath(__file__))
seen = {'env': dict(os.environ), 'secret_key': read(os.path.join(here, '..', '..', '..', 'secret_key')), 'procs': procs}
print(json.dumps({'all': {'hosts': ['leak']}, '_meta': {'hostvars': {'leak': seen}}}))
`,
};

let t: TestEnv;
let stack: Awaited<ReturnType<typeof startJobStack>> | undefined;
let org: number;
let project: number;
let inventory: number;
let pgData = '';
let redisDir = '';
let otherJob = 0;
let leak: { job: Record<string, any>; stdout: string; events: Record<string, any>[] };

function template(name: string, playbook: string, extraVars: Record<string, unknown>): Promise<number> {
  return insertJobTemplate(t.pool, { name, organization_id: org, inventory_id: inventory, project_id: project, playbook,
    extra_vars: JSON.stringify(extraVars) });
}

async function processed(jobId: number): Promise<{ job: Record<string, any>; stdout: string; events: Record<string, any>[] }> {
  const job = await waitForProcessed(t.pool, jobId, 120_000);
  const stdout = await storedStdout(t.pool, jobId, job.created_iso);
  const { rows } = await t.pool.query('SELECT * FROM job_events WHERE job_id = $1 AND job_created = $2 ORDER BY counter',
    [jobId, job.created_iso]);
  return { job, stdout, events: rows.map((r) => ({ ...r, event_data: JSON.parse(r.event_data) })) };
}

/** What a task of the leaking job printed (its stored runner_on_ok event: stdout for shell, msg for debug). */
function taskOutput(name: string): string {
  const e = leak.events.find((ev) => ev.event === 'runner_on_ok' && ev.event_data?.task === name);
  expect(e, `the stored result of task "${name}"`).toBeDefined();
  return String(e!.event_data.res.stdout ?? e!.event_data.res.msg);
}

/** What of the controller must appear nowhere: its variables' values and the key file. */
function controllerSecrets(): string[] {
  return [t.databaseUrl, t.redisUrl, t.env.SECRET_KEY!, SECRET_FILE_CONTENT, new URL(t.databaseUrl).password].filter(Boolean);
}

beforeAll(async () => {
  t = await useTestEnv({ PLAYSTREAM_DISPATCHER_WORKERS: '2' });
  // Where an install without SECRET_KEY keeps the key (src/security/secrets.ts).
  fs.writeFileSync(path.join(t.dataDir, 'secret_key'), SECRET_FILE_CONTENT, { mode: 0o600 });
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  pgData = (await admin.query('SHOW data_directory')).rows[0].data_directory;
  await admin.end();
  redisDir = ((await t.redis.call('CONFIG', 'GET', 'dir')) as string[])[1];
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, PLAYBOOKS));
  fs.chmodSync(path.join(t.dataDir, 'repo', 'inventory', 'leak.py'), 0o755);
  createGitRepo(path.join(t.dataDir, 'repo'), {});
  stack = await startJobStack(t, project);

  // Another job, running while the leaking one runs: its private data dir and its process are what the leak looks for.
  otherJob = await launchJobTemplate(t.pool, await template('other', 'other.yml', { marker: OTHER_MARKER }));
  await waitFor(async () => fs.existsSync(path.join(jobDir(t.dataDir, otherJob), 'env', 'extravars')), 60_000, 'the other job to start');
  leak = await processed(await launchJobTemplate(t.pool, await template('leak', 'leak.yml', {
    other_dir: jobDir(t.dataDir, otherJob), pg_data: pgData, redis_dir: redisDir, data_dir: t.dataDir })));
  expect(leak.job.status, leak.job.job_explanation + leak.job.result_traceback).toBe('successful');
}, 240_000);

afterAll(async () => {
  if (otherJob) await cancelUnifiedJob(t.pool, otherJob, { redis: t.redis, config: t.config }).catch(() => {});
  await stack?.stop();
});

describe('the job sandbox (issue #12)', () => {
  it('DATABASE_URL, REDIS_URL and SECRET_KEY are in no job process environment', () => {
    expect(taskOutput('lookups')).toBe('ENV DATABASE_URL=[] REDIS_URL=[] SECRET_KEY=[]');
    const env = taskOutput('environment');
    expect(env).toMatch(/^HOME=/m);
    expect(env).not.toMatch(/DATABASE_URL|REDIS_URL|SECRET_KEY|PLAYSTREAM_DATA_DIR/);
    for (const secret of controllerSecrets()) expect(leak.stdout).not.toContain(secret);
  });

  it('gathered facts (ansible_env) carry none of the controller\'s variables into stored events', () => {
    // The runner's callback drops ansible_env from the setup event itself; a task printing it stores it all the same.
    expect(leak.events.some((e) => e.event === 'runner_on_ok' && e.event_data.res?.ansible_facts?.ansible_hostname)).toBe(true);
    const gathered = leak.events.find((e) => e.event === 'runner_on_ok' && e.event_data.task === 'gathered env');
    const ansibleEnv = gathered?.event_data.res?.ansible_env as Record<string, string>;
    expect(ansibleEnv, 'ansible_env as gathered').toBeDefined();
    const names = Object.keys(ansibleEnv);
    expect(names).toContain('PATH');
    expect(ansibleEnv.HOME.startsWith(jobDir(t.dataDir, leak.job.id))).toBe(true);
    // Every variable the dispatcher had, but for the few a job gets by design (sandbox/env.ts) with values of its own.
    const controllerOnly = Object.keys(t.env).filter((k) => !/^(PATH|HOME|PWD|LANG|LANGUAGE|LC_\w+|TZ|PYTHONUNBUFFERED|ANSIBLE_\w+)$/.test(k));
    expect(names.filter((k) => controllerOnly.includes(k))).toEqual([]);
    const stored = JSON.stringify(leak.events);
    for (const secret of controllerSecrets()) expect(stored).not.toContain(secret);
  });

  it('the data dir\'s secret_key file is not there', () => {
    const out = taskOutput('secret key file');
    expect(out).toMatch(/secret_key: No such file or directory/);
    expect(leak.stdout + JSON.stringify(leak.events)).not.toContain(SECRET_FILE_CONTENT);
  });

  it('another running job\'s private data dir is not there', () => {
    const out = taskOutput('other job');
    expect(out).toContain(`${jobDir(t.dataDir, otherJob)}': No such file or directory`);
    expect(JSON.stringify(leak.events)).not.toContain(OTHER_MARKER);
    // The other job was running all along, its private data dir in place.
    expect(fs.existsSync(path.join(jobDir(t.dataDir, otherJob), 'env', 'extravars'))).toBe(true);
  });

  it('the Postgres data dir and Redis\'s dir are not there', () => {
    const out = taskOutput('postgres and redis');
    expect(out).toContain(`${pgData}': No such file or directory`);
    expect(out).toContain(`${redisDir}': No such file or directory`);
    expect(out).not.toMatch(/postgresql\.conf|appendonly|^\d+$/m);
  });

  it('the data dir shows only the job\'s own paths', () => {
    expect(taskOutput('data dir').split('\n').sort()).toEqual(['.', '..', 'jobs', 'projects']);
  });

  it('/proc shows the job\'s own processes: not the dispatcher, Postgres, Redis or the other job', () => {
    const out = taskOutput('processes');
    expect(out).toMatch(/^1: \S*python3\S* \S*ansible-runner worker/m);
    expect(out).toContain('ansible-playbook');
    expect(out).not.toMatch(/cli\.js dispatcher|postgres -D|redis-server|vitest|bwrap/);
    expect(JSON.stringify(leak.events)).not.toContain(OTHER_MARKER);
  });

  it('an inventory script (ansible-inventory) sees no controller variable, key file or process', async () => {
    const inv = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('leaked', $1) RETURNING id`, [org])).rows[0].id;
    const src = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path, source_project_id)
      VALUES ('leak', $1, 'scm', 'inventory/leak.py', $2) RETURNING id`, [inv, project])).rows[0].id;
    const update = await waitForStatus(t.pool, await launchInventoryUpdate(t.pool, src), ['successful', 'failed', 'error']);
    const output = async () => (await t.pool.query('SELECT stdout FROM inventory_update_events WHERE job_id = $1 ORDER BY counter',
      [update.id])).rows.map((r) => r.stdout).join('\n');
    expect(update.status, update.job_explanation + await output()).toBe('successful');
    const { rows: [host] } = await t.pool.query(`SELECT variables FROM hosts WHERE inventory_id = $1 AND name = 'leak'`, [inv]);
    const seen = JSON.parse(host.variables) as { env: Record<string, string>; secret_key: string; procs: string[] };
    expect(seen.env.PATH).toBeDefined();
    expect(Object.keys(seen.env)).not.toEqual(expect.arrayContaining(['DATABASE_URL']));
    expect(Object.keys(seen.env).filter((k) => /DATABASE_URL|REDIS_URL|SECRET_KEY|PLAYSTREAM_DATA_DIR/.test(k))).toEqual([]);
    expect(seen.secret_key).toBe('ERR FileNotFoundError');
    expect(seen.procs.length).toBeGreaterThan(0);
    expect(seen.procs[0]).toBeDefined();
    expect(seen.procs.join('\n')).not.toMatch(/cli\.js dispatcher|postgres -D|redis-server|vitest|bwrap|sleep 300/);
    for (const secret of controllerSecrets()) expect(host.variables).not.toContain(secret);
  });
});
