import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { launchAdHocCommand, launchInventoryUpdate, launchJobTemplate, launchProjectUpdate, launchSystemJob } from '../../src/scheduler/launch.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createProjectAndInventory, insertJobTemplate, orgId, startJobStack, storedStdout, waitFor, waitForProcessed } from './support.js';

/**
 * Every line Ansible prints is kept (issue #18): real playbooks through a dispatcher process
 * and the real receiver; for each job the stored counters are 1..N with no gap,
 * event_processing_finished turns true within seconds, and the text the user needs is in
 * the stored stdout (and, for errors before the play, in job_explanation).
 */
const VAULT_PASSWORD = 'right-horse-battery';

/** A playbook encrypted whole with ansible-vault: Ansible must decrypt it before the play. */
function vaultedPlaybook(): string {
  const dir = fs.mkdtempSync('/tmp/ps-vault-');
  const pw = path.join(dir, 'pw');
  const file = path.join(dir, 'vault.yml');
  fs.writeFileSync(pw, VAULT_PASSWORD);
  fs.writeFileSync(file, `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg="decrypted"\n`);
  execFileSync('ansible-vault', ['encrypt', '--vault-password-file', pw, file], { stdio: 'ignore' });
  const text = fs.readFileSync(file, 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return text;
}

const PLAYBOOKS: Record<string, string> = {
  'ok.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg="hello"\n`,
  'deprecated.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - include: included.yml\n`,
  'included.yml': `- ansible.builtin.debug: msg="from the include"\n`,
  'syntax.yml': `- hosts: all\n  tasks:\n    - ansible.builtin.debug: msg="unclosed\n   bad: [indent\n`,
  'role.yml': `- hosts: all\n  gather_facts: false\n  roles:\n    - no_such_role_here\n`,
  'big.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.shell: head -c 1048576 /dev/zero | tr '\\0' 'x'; echo; echo BIG-END\n      register: big\n    - ansible.builtin.debug: msg="{{ big.stdout | length }} bytes"\n`,
  'bytes.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.shell: printf 'before \\377\\376 mid \\303\\050 after'\n      register: raw\n    - ansible.builtin.debug: var=raw.stdout\n`,
  'inventory/warn.ini': `[web]\nweb1 ansible_connection=local\n[web:vars]\nrole=front\n`,
  'inventory/broken.yml': `all:\n  hosts: [this, is, not, a, mapping\n`,
  'sleep.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg="about to sleep"\n    - ansible.builtin.command: sleep 60\n    - ansible.builtin.debug: msg="never"\n`,
};

let t: TestEnv;
let stack: Awaited<ReturnType<typeof startJobStack>> | undefined;
let org: number;
let project: number;
let inventory: number;

function template(name: string, playbook: string, extra: Record<string, unknown> = {}): Promise<number> {
  return insertJobTemplate(t.pool, { name, organization_id: org, inventory_id: inventory, project_id: project, playbook, ...extra });
}

interface Kept { job: Record<string, any>; counters: number[]; stdout: string }

/** Waits for the job to finish processing, then reads its stored counters and stdout. */
async function kept(jobId: number, table = 'job_events', timeoutMs = 90_000): Promise<Kept> {
  const job = await waitForProcessed(t.pool, jobId, timeoutMs);
  const { rows } = await t.pool.query(`SELECT counter FROM ${table} WHERE job_id = $1 AND job_created = $2 ORDER BY counter`,
    [jobId, job.created_iso]);
  const stdout = await storedStdout(t.pool, jobId, job.created_iso, table);
  return { job, counters: rows.map((r) => r.counter), stdout };
}

function expectContiguous(k: Kept): void {
  expect(k.counters.length).toBeGreaterThan(0);
  expect(k.counters).toEqual(Array.from({ length: k.counters.length }, (_, i) => i + 1));
  expect(k.job.emitted_events).toBe(k.counters.length);
}

/** Seconds from the final status to event_processing_finished: the job's `finished` to now, an upper bound. */
async function finishedWithin(k: Kept, seconds: number): Promise<void> {
  const { rows: [r] } = await t.pool.query('SELECT extract(epoch FROM now() - finished) AS s FROM unified_jobs WHERE id = $1', [k.job.id]);
  expect(Number(r.s)).toBeLessThan(seconds);
}

beforeAll(async () => {
  t = await useTestEnv({ PLAYSTREAM_DISPATCHER_WORKERS: '4' });
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, { ...PLAYBOOKS, 'vault.yml': vaultedPlaybook() }));
  stack = await startJobStack(t, project);
}, 120_000);

afterAll(async () => { await stack?.stop(); });

describe('every line Ansible prints is kept', () => {
  it('an inventory whose only host is disabled: the warning is in stdout, counters from 1, processing finishes', async () => {
    const inv = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('disabled', $1) RETURNING id`, [org])).rows[0].id;
    await t.pool.query(`INSERT INTO hosts (name, inventory_id, enabled, variables) VALUES ('localhost', $1, false, 'ansible_connection: local')`, [inv]);
    const k = await kept(await launchJobTemplate(t.pool, await template('disabled', 'ok.yml', { inventory_id: inv })));
    expectContiguous(k);
    expect(k.stdout).toContain('[WARNING]: provided hosts list is empty');
    await finishedWithin(k, 10);
  }, 90_000);

  it('a limit that matches nothing', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('nomatch', 'ok.yml', { limit: 'no-such-host' })));
    expectContiguous(k);
    expect(k.stdout).toContain('Could not match supplied host pattern, ignoring: no-such-host');
    expect(k.job.status).toBe('failed');
    expect(k.job.job_explanation).toContain('ERROR! Specified inventory, host pattern and/or --limit leaves us with no hosts to target.');
  }, 90_000);

  it('a deprecation warning printed before the play starts', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('deprecated', 'deprecated.yml')));
    expect(k.job.status).toBe('successful');
    expectContiguous(k);
    expect(k.stdout).toMatch(/\[DEPRECATION WARNING\]: "include" is deprecated[\s\S]*from the include/);
  }, 90_000);

  it('a missing playbook: the error is in stdout and job_explanation', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('missing', 'not_there.yml')));
    expect(k.job.status).toBe('failed');
    expectContiguous(k);
    expect(k.stdout).toContain('ERROR! the playbook: not_there.yml could not be found');
    expect(k.job.job_explanation).toContain('ERROR! the playbook: not_there.yml could not be found');
  }, 90_000);

  it('a syntax error', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('syntax', 'syntax.yml')));
    expect(k.job.status).toBe('failed');
    expectContiguous(k);
    expect(k.stdout).toContain('ERROR!');
    expect(k.stdout).toContain('syntax.yml');
    expect(k.job.job_explanation).toMatch(/^ERROR! .*(syntax|YAML|parsing)/i);
  }, 90_000);

  it('a missing role', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('role', 'role.yml')));
    expect(k.job.status).toBe('failed');
    expectContiguous(k);
    expect(k.stdout).toContain("ERROR! the role 'no_such_role_here' was not found");
    expect(k.job.job_explanation).toContain("the role 'no_such_role_here' was not found");
  }, 90_000);

  it('a wrong vault password', async () => {
    const vaultType = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'vault' AND managed LIMIT 1`)).rows[0].id;
    const cred = await insertCredential(t.pool, t.secrets, { name: 'wrong vault', organization_id: org, credential_type_id: vaultType,
      inputs: { vault_password: 'not-the-password' } });
    const jt = await template('vault', 'vault.yml');
    await t.pool.query('INSERT INTO job_template_credentials VALUES ($1, $2)', [jt, cred]);
    const k = await kept(await launchJobTemplate(t.pool, jt));
    expect(k.job.status).toBe('failed');
    expectContiguous(k);
    expect(k.stdout).toContain('ERROR! Decryption failed (no vault secrets were found that could decrypt)');
    expect(k.job.job_explanation).toContain('ERROR! Decryption failed');
    expect(k.stdout).not.toContain('not-the-password');
  }, 90_000);

  it('-vvvv on a small play', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('vvvv', 'ok.yml', { verbosity: 4 })));
    expect(k.job.status).toBe('successful');
    expectContiguous(k);
    // The lines printed before the callback plugin loads (config file, inventory parsing).
    expect(k.stdout).toMatch(/ansible-playbook \[core /);
    expect(k.stdout).toContain('1 plays in ok.yml');
    expect(k.stdout).toContain('task path: ');
    expect(k.stdout).toContain('"msg": "hello"');
    expect(k.counters.length).toBeGreaterThan(20);
  }, 90_000);

  it('a task printing 1 MB', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('big', 'big.yml', { verbosity: 1 })));
    expect(k.job.status).toBe('successful');
    expectContiguous(k);
    // Booleans: a failed toContain would print a diff of megabytes.
    expect(k.stdout.includes('BIG-END')).toBe(true);
    expect(k.stdout.match(/"msg": "\d+ bytes"/)?.[0]).toBe('"msg": "1048584 bytes"');
    expect(longestRun(k.stdout, 'x')).toBe(1 << 20);
  }, 90_000);

  it('non-UTF-8 bytes in output', async () => {
    const k = await kept(await launchJobTemplate(t.pool, await template('bytes', 'bytes.yml')));
    expect(k.job.status).toBe('successful');
    expectContiguous(k);
    expect(k.stdout).toMatch(/before .* mid .* after/);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM dead_letters')).rows[0].n).toBe(0);
  }, 90_000);

  it('an ad hoc command on a pattern that matches nothing', async () => {
    const id = await launchAdHocCommand(t.pool, { inventory_id: inventory, module_name: 'ping', limit: 'nothing-here' });
    const k = await kept(id, 'ad_hoc_command_events');
    expectContiguous(k);
    expect(k.stdout).toContain('Could not match supplied host pattern');
  }, 90_000);

  it('a project update that fails: git\'s message in stdout and job_explanation, counters from 1', async () => {
    const repo = path.join(t.dataDir, 'repo');
    const p2 = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, scm_branch, local_path)
      VALUES ('P2', $1, 'git', $2, 'no-such-branch', 'p2') RETURNING id`, [org, `file://${repo}`])).rows[0].id;
    const k = await kept(await launchProjectUpdate(t.pool, p2), 'project_update_events');
    expect(k.job.status).toBe('failed');
    expectContiguous(k);
    expect(k.stdout).toContain('revision \\"no-such-branch\\" not found');
    expect(k.job.job_explanation).toMatch(/^Check out revision failed: revision "no-such-branch" not found/);
  }, 90_000);

  it('inventory updates: ansible-inventory\'s output is kept, its error explains a failure', async () => {
    const inv = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('from source', $1) RETURNING id`, [org])).rows[0].id;
    const source = async (name: string, file: string) => (await t.pool.query(`INSERT INTO inventory_sources
      (name, inventory_id, source, source_path, source_project_id) VALUES ($1, $2, 'scm', $3, $4) RETURNING id`, [name, inv, file, project])).rows[0].id;
    const good = await kept(await launchInventoryUpdate(t.pool, await source('good', 'inventory/warn.ini')), 'inventory_update_events');
    expect(good.job.status).toBe('successful');
    expectContiguous(good);
    expect(good.stdout).toContain('Imported 1 hosts');

    const bad = await kept(await launchInventoryUpdate(t.pool, await source('bad', 'inventory/broken.yml')), 'inventory_update_events');
    expect(bad.job.status).toBe('failed');
    expectContiguous(bad);
    const explanation: string = bad.job.job_explanation;
    expect(explanation).toMatch(/^ansible-inventory failed: \S/);
    // The explanation's first line is one of the output's lines.
    expect(bad.stdout).toContain(explanation.slice('ansible-inventory failed: '.length).split('\n')[0]);
  }, 90_000);

  it('a system job', async () => {
    const sjt = (await t.pool.query(`INSERT INTO system_job_templates (name, job_type) VALUES ('Cleanup', 'cleanup_activitystream') RETURNING id`)).rows[0].id;
    const k = await kept(await launchSystemJob(t.pool, sjt, { extraVars: { days: 30 } }), 'system_job_events');
    expect(k.job.status).toBe('successful');
    expectContiguous(k);
    expect(k.stdout).toContain('Removed');
  }, 90_000);

  it('a runner SIGKILLed mid-play: what it sent is kept contiguous and processing finishes', async () => {
    const id = await launchJobTemplate(t.pool, await template('killed', 'sleep.yml'));
    const marker = path.join(t.dataDir, 'jobs', String(id));
    // The play is under way once the sleep task started; then kill the runner itself.
    await waitFor(async () => {
      const { rows: [j] } = await t.pool.query('SELECT status FROM unified_jobs WHERE id = $1', [id]);
      return j.status === 'running' && runnerPid(marker) ? true : null;
    }, 60_000, 'runner to start');
    await waitFor(async () => (await t.redis.lrange(t.config.redisPrefix + t.config.callbackQueue, 0, -1)).length === 0
      && (await t.pool.query(`SELECT 1 FROM job_events WHERE job_id = $1 AND event = 'runner_on_start' LIMIT 2`, [id])).rowCount === 2
      ? true : null, 60_000, 'the sleep task to start');
    process.kill(runnerPid(marker)!, 'SIGKILL');
    const k = await kept(id, 'job_events', 30_000);
    expect(k.job.status).toBe('error');
    expectContiguous(k);
    expect(k.stdout).toContain('about to sleep');
    await finishedWithin(k, 10);
  }, 120_000);
});

/** The longest run of `c` in `s`, in one pass (a search for a megabyte needle can be quadratic). */
function longestRun(s: string, c: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    run = s[i] === c ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/** The pid of the `ansible-runner worker` process whose private data dir is `dir`. */
function runnerPid(dir: string): number | null {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.endsWith('ansible-runner')) && cmd.includes('worker') && cmd.includes(dir)) return Number(name);
    } catch { /* gone */ }
  }
  return null;
}
