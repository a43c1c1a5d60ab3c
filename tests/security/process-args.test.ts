import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { extraVarsYaml } from '../../src/scheduler/private-data-dir.js';
import { checkScmFields } from '../../src/scheduler/project-git.js';
import { launchAdHocCommand, launchInventoryUpdate, launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { runDueSchedules } from '../../src/scheduler/schedules.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, createProjectAndInventory, orgId, pushedEvents, runInProcess } from '../scheduler/support.js';

/**
 * Issue #12, what users type that reaches a job's processes: git arguments (scm_refspec,
 * scm_url, scm_branch), inventory source variables, and Jinja in extra vars. Each attack is
 * refused before any program runs, or reaches Ansible as text; the marker an attack would
 * create (it does on the code before this change: `git fetch origin --upload-pack=...`
 * runs the command) is never there. Jobs run in this process along the real path
 * (support.ts runInProcess), in the job sandbox.
 */
const PLAYBOOKS: Record<string, string> = {
  'vars.yml': `- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "TPL=[{{ tpl }}] PROMPTED=[{{ prompted }}] NESTED=[{{ nested.inner }}]"
`,
  'inventory/hosts.ini': 'web1 ansible_connection=local\n',
  'evil/sitecustomize.py': '',
  'evil/ansible.cfg': '',
};
const PROMPTED = "{{ lookup('pipe', 'id') }}";

let t: TestEnv;
let org: number;
let project: number;
let inventory: number;
let markers: string;

async function projectWith(fields: Record<string, string>): Promise<number> {
  const cols = { name: `P ${crypto.randomUUID()}`, organization_id: org, scm_type: 'git', scm_url: `file://${path.join(t.dataDir, 'repo')}`,
    local_path: `p-${crypto.randomBytes(4).toString('hex')}`, ...fields };
  const keys = Object.keys(cols);
  const { rows } = await t.pool.query(`INSERT INTO projects (${keys.join(',')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(',')}) RETURNING id`,
    Object.values(cols));
  return rows[0].id;
}

async function jobStdout(jobId: number): Promise<string> {
  return (await pushedEvents(t, 'job_id', jobId)).map((e) => e.stdout ?? '').join('\n');
}

async function setting(key: string, value: unknown): Promise<void> {
  await t.pool.query(`INSERT INTO api_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2`, [key, JSON.stringify(value)]);
}

beforeAll(async () => {
  t = await useTestEnv();
  org = await orgId(t.pool);
  markers = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-attack-'));
  ({ project, inventory } = await createProjectAndInventory(t, org, {
    ...PLAYBOOKS,
    'evil/sitecustomize.py': `open(${JSON.stringify(path.join(markers, 'pythonpath'))}, 'w').write('loaded')\n`,
    'evil/ansible.cfg': `[defaults]\nvault_password_file = ${path.join(markers, 'vault.sh')}\n`,
  }));
  const update = await runInProcess(t, await launchProjectUpdate(t.pool, project));
  expect(update.status, update.job_explanation + update.result_traceback).toBe('successful');
}, 120_000);

afterAll(() => { if (markers) fs.rmSync(markers, { recursive: true, force: true }); });

describe('git arguments', () => {
  it('an scm_refspec that is a git option (--upload-pack=<command>) is refused and runs nothing', async () => {
    const marker = path.join(markers, 'refspec');
    const p = await projectWith({ scm_refspec: `--upload-pack=touch\${IFS}${marker};true` });
    const update = await runInProcess(t, await launchProjectUpdate(t.pool, p));
    expect(update.status).toBe('error');
    expect(update.job_explanation).toMatch(/^scm_refspec ".*" is refused: "--upload-pack=.*" starts with "-"/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refspecs git accepts still fetch', async () => {
    const p = await projectWith({ scm_refspec: '+refs/heads/*:refs/remotes/origin/* refs/heads/main' });
    const update = await runInProcess(t, await launchProjectUpdate(t.pool, p));
    expect(update.status, update.job_explanation + update.result_traceback).toBe('successful');
    expect(() => checkScmFields({ scm_url: 'https://example.com/r.git', scm_branch: 'release/1.2',
      scm_refspec: 'refs/pull/*/head:refs/remotes/origin/pull/* 0123abcd' })).not.toThrow();
  });

  it('an scm_url that is an option or a remote-helper command is refused and runs nothing', async () => {
    const marker = path.join(markers, 'url');
    for (const url of [`--upload-pack=touch\${IFS}${marker};true`, `ext::sh -c touch% ${marker}`, `fd::17`]) {
      const update = await runInProcess(t, await launchProjectUpdate(t.pool, await projectWith({ scm_url: url })));
      expect(update.status, url).toBe('error');
      expect(update.job_explanation, url).toMatch(/^scm_url ".*" is refused: /);
    }
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('an scm_branch that is an option is refused', async () => {
    const p = await projectWith({ scm_branch: '--output=/tmp/x' });
    const update = await runInProcess(t, await launchProjectUpdate(t.pool, p));
    expect(update.status).toBe('error');
    expect(update.job_explanation).toMatch(/^scm_branch "--output=\/tmp\/x" is refused: it starts with "-"/);
  });

  it('a file:// URL into the data dir (another project\'s checkout, the job dirs) is refused', async () => {
    for (const inside of ['projects/p', 'jobs', '.']) {
      const url = `file://${path.join(t.dataDir, inside)}`;
      const update = await runInProcess(t, await launchProjectUpdate(t.pool, await projectWith({ scm_url: url })));
      expect(update.status, url).toBe('error');
      expect(update.job_explanation, url).toMatch(/is part of Playstream's data dir$/);
    }
  });

  it('a local repository only root may read (etckeeper\'s /etc/.git) is refused', async () => {
    const repo = path.join(markers, 'private-repo');
    createGitRepo(repo, { 'site.yml': '- hosts: all\n  tasks: []\n' });
    fs.chmodSync(repo, 0o700);
    const update = await runInProcess(t, await launchProjectUpdate(t.pool, await projectWith({ scm_url: `file://${repo}` })));
    expect(update.status).toBe('error');
    expect(update.job_explanation).toBe(`scm_url "file://${repo}" is refused: ${repo} is not readable by every user of this machine`);
  });
});

describe('inventory source variables', () => {
  it('LD_PRELOAD, PYTHONPATH and ANSIBLE_CONFIG are refused before ansible-inventory runs', async () => {
    const evil = path.join(t.dataDir, 'projects', 'p', 'evil');
    for (const [name, value] of [['LD_PRELOAD', path.join(evil, 'x.so')], ['PYTHONPATH', evil], ['ANSIBLE_CONFIG', path.join(evil, 'ansible.cfg')]]) {
      const src = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path, source_project_id, source_vars)
        VALUES ($1, $2, 'scm', 'inventory/hosts.ini', $3, $4) RETURNING id`, [name, inventory, project, `${name}: ${value}\nREGION: eu`])).rows[0].id;
      const update = await runInProcess(t, await launchInventoryUpdate(t.pool, src));
      expect(update.status, name).toBe('error');
      expect(update.job_explanation).toBe(`source_vars refused: \`${name}\` is a prohibited environment variable`);
    }
    expect(fs.existsSync(path.join(markers, 'pythonpath'))).toBe(false);
  });

  it('a source without them imports as before', async () => {
    const src = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path, source_project_id, source_vars)
      VALUES ('plain', $1, 'scm', 'inventory/hosts.ini', $2, 'REGION: eu') RETURNING id`, [inventory, project])).rows[0].id;
    const update = await runInProcess(t, await launchInventoryUpdate(t.pool, src));
    expect(update.status, update.job_explanation).toBe('successful');
    const { rows } = await t.pool.query(`SELECT name FROM hosts WHERE inventory_id = $1 AND name = 'web1'`, [inventory]);
    expect(rows).toHaveLength(1);
  });
});

describe('Jinja in extra vars (ALLOW_JINJA_IN_EXTRA_VARS)', () => {
  let jt = 0;
  beforeAll(async () => {
    jt = (await t.pool.query(`INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook, allow_simultaneous,
      extra_vars, ask_variables_on_launch) VALUES ('vars', $1, $2, $3, 'vars.yml', true, $4, true) RETURNING id`,
    [org, inventory, project, 'tpl: "{{ 6 * 7 }}"\nprompted: none\nnested: {inner: none}'])).rows[0].id;
  });

  const prompted = { prompted: PROMPTED, nested: { inner: PROMPTED } };

  it('template (the default): a prompted {{ lookup(\'pipe\', \'id\') }} is text, the template\'s own Jinja is evaluated', async () => {
    const job = await runInProcess(t, await launchJobTemplate(t.pool, jt, { overrides: { extra_vars: prompted } }));
    expect(job.status, job.job_explanation).toBe('successful');
    const out = await jobStdout(job.id);
    expect(out).toContain(`TPL=[42] PROMPTED=[${PROMPTED}] NESTED=[${PROMPTED}]`);
    expect(out).not.toContain('uid=');
  });

  it('a schedule\'s extra_data is prompted too', async () => {
    const { rows: [s] } = await t.pool.query(`INSERT INTO schedules (name, unified_job_template_id, rrule, next_run, extra_data)
      VALUES ('every day', $1, 'DTSTART:20200101T000000Z RRULE:FREQ=DAILY;INTERVAL=1', now() - interval '1 minute', $2) RETURNING id`,
    [jt, JSON.stringify(prompted)]);
    const [jobId] = await runDueSchedules(t.pool, undefined, t.config);
    expect(jobId).toBeDefined();
    expect((await t.pool.query('SELECT schedule_id FROM unified_jobs WHERE id = $1', [jobId])).rows[0].schedule_id).toBe(s.id);
    const job = await runInProcess(t, jobId);
    expect(job.status, job.job_explanation).toBe('successful');
    expect(await jobStdout(job.id)).toContain(`TPL=[42] PROMPTED=[${PROMPTED}]`);
  });

  it('never: not even the template\'s; always: the prompted one too', async () => {
    try {
      await setting('ALLOW_JINJA_IN_EXTRA_VARS', 'never');
      const never = await runInProcess(t, await launchJobTemplate(t.pool, jt, { overrides: { extra_vars: prompted } }));
      expect(await jobStdout(never.id)).toContain(`TPL=[{{ 6 * 7 }}] PROMPTED=[${PROMPTED}]`);
      await setting('ALLOW_JINJA_IN_EXTRA_VARS', 'always');
      const always = await runInProcess(t, await launchJobTemplate(t.pool, jt, { overrides: { extra_vars: prompted } }));
      expect(await jobStdout(always.id)).toMatch(/TPL=\[42\] PROMPTED=\[uid=\d+/);
    } finally {
      await setting('ALLOW_JINJA_IN_EXTRA_VARS', 'template');
    }
  });

  it('an ad hoc command\'s module arguments and a Machine credential\'s username with Jinja are refused', async () => {
    const adhoc = await runInProcess(t, await launchAdHocCommand(t.pool, { inventory_id: inventory, module_name: 'debug',
      module_args: `msg=${PROMPTED}` }));
    expect(adhoc.status).toBe('error');
    expect(adhoc.job_explanation).toBe('Inline Jinja variables are not allowed.');
    const machine = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'ssh' AND managed`)).rows[0].id;
    const cred = await insertCredential(t.pool, t.secrets, { name: 'jinja user', organization_id: org, credential_type_id: machine,
      inputs: { username: PROMPTED } });
    const job = await runInProcess(t, await launchAdHocCommand(t.pool, { inventory_id: inventory, module_name: 'ping', credential_id: cred }));
    expect(job.status).toBe('error');
    expect(job.job_explanation).toBe('Inline Jinja variables are not allowed.');
  });

  it('env/extravars reads back exactly through Ansible\'s own YAML loader, untrusted strings (keys below the top too) unsafe', () => {
    const vars = { tpl: '{{ x }}', odd: 'q"uo\\te\n\t\u007f\u0085\u2028é😀', n: 1, f: 0.5, tiny: 1e-7, big: 1e21, yes: true, none: null,
      list: [1, 'x', { k: '{{ y }}' }], 'we ird:key': {}, neg: -3, empty: '' };
    const file = path.join(t.dataDir, 'extravars.yml');
    fs.writeFileSync(file, extraVarsYaml(vars, new Set(['tpl'])));
    // Ansible's loader (the one `-e @file` uses), run by the Python Ansible is installed for; U: marks an AnsibleUnsafe string.
    const read = JSON.parse(execFileSync('/usr/bin/python3', ['-c', `
import json, sys
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.utils.unsafe_proxy import AnsibleUnsafe
def mark(v):
    if isinstance(v, dict): return {('U:' if isinstance(k, AnsibleUnsafe) else '') + k: mark(x) for k, x in v.items()}
    if isinstance(v, list): return [mark(x) for x in v]
    if isinstance(v, str): return ('U:' if isinstance(v, AnsibleUnsafe) else 'S:') + v
    return v
print(json.dumps(mark(AnsibleLoader(open(sys.argv[1]).read()).get_single_data())))`, file], { encoding: 'utf8' }));
    expect(read).toEqual({ tpl: 'S:{{ x }}', odd: `U:${vars.odd}`, n: 1, f: 0.5, tiny: 1e-7, big: 1e21, yes: true, none: null,
      list: [1, 'U:x', { 'U:k': 'U:{{ y }}' }], 'we ird:key': {}, neg: -3, empty: 'U:' });
  });
});
