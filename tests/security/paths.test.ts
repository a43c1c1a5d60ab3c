import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * Issue #12, paths: a project's local_path of `..` was accepted, and a project update
 * cleans a local_path without .git — the data dir itself; a template's playbook and an
 * inventory source's source_path were not confined to the checkout. Each field now
 * resolves inside its root, symlinks that exist included, or the write is a 400 naming
 * the field, and nothing is stored. The checkout here holds the links an attacker's
 * repository would bring: a file link and a directory link out of it, and a dangling one.
 */
let env: TestEnv;
let url: string;
let org: number;
let project: number;
let inventory: number;
let checkout: string;
const ADMIN = basicAuth('admin', 'admin-password');

function api(method: string, path: string, body?: unknown) {
  return apiRequest(url, method, path, body, ADMIN);
}

function expectRefused(r: { status: number; json: any }, field: string): void {
  expect(r.status, JSON.stringify(r.json)).toBe(400);
  expect(Object.keys(r.json)).toEqual([field]);
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  const root = path.join(env.dataDir, 'projects');
  checkout = path.join(root, 'site');
  fs.mkdirSync(path.join(checkout, 'roles'), { recursive: true });
  fs.writeFileSync(path.join(checkout, 'site.yml'), '- hosts: all\n  tasks: []\n');
  fs.writeFileSync(path.join(checkout, 'hosts.ini'), 'localhost\n');
  fs.symlinkSync('/etc/hostname', path.join(checkout, 'evil.yml'));
  fs.symlinkSync('/etc', path.join(checkout, 'etc'));
  fs.symlinkSync('/nonexistent/later.yml', path.join(checkout, 'dangling.yml'));
  fs.symlinkSync('site.yml', path.join(checkout, 'alias.yml'));
  fs.symlinkSync(env.dataDir, path.join(root, 'datadir'));
  fs.symlinkSync('.', path.join(root, 'itself'));
  org = (await api('POST', '/api/v2/organizations/', { name: 'Paths' })).json.id;
  const created = await api('POST', '/api/v2/projects/', { name: 'site', organization: org, scm_type: '', local_path: 'site' });
  expect(created.status).toBe(201);
  project = created.json.id;
  inventory = (await api('POST', '/api/v2/inventories/', { name: 'paths', organization: org })).json.id;
});

describe('a project\'s local_path is one directory of the projects root', () => {
  test('`..`, absolute, nested and symlinked escapes are refused with 400 naming local_path', async () => {
    for (const localPath of ['..', '../..', '.', '/', '/etc', 'site/../..', 'a/b', 'datadir', 'itself']) {
      expectRefused(await api('POST', '/api/v2/projects/', { name: `p ${localPath}`, organization: org, scm_type: '', local_path: localPath }), 'local_path');
      expectRefused(await api('PATCH', `/api/v2/projects/${project}/`, { local_path: localPath }), 'local_path');
    }
    const { rows } = await env.pool.query('SELECT local_path FROM projects WHERE organization_id = $1', [org]);
    expect(rows).toEqual([{ local_path: 'site' }]);
  });

  test('another project\'s checkout is not a local_path to take', async () => {
    expectRefused(await api('POST', '/api/v2/projects/', { name: 'squatter', organization: org, scm_type: '', local_path: 'site' }), 'local_path');
    expectRefused(await api('POST', '/api/v2/projects/', { name: 'squatter', organization: org, scm_type: '', local_path: `_${project}__site` }), 'local_path');
    expectRefused(await api('POST', '/api/v2/projects/', { name: 'squatter', organization: org, scm_type: '', local_path: '_demo_project' }), 'local_path');
    const fresh = await api('POST', '/api/v2/projects/', { name: 'fresh', organization: org, scm_type: '', local_path: 'fresh' });
    expect(fresh.status).toBe(201);
    expect((await api('PATCH', `/api/v2/projects/${project}/`, { local_path: 'site', description: 'unchanged path' })).status).toBe(200);
  });
});

describe('a template\'s playbook is a file of its project', () => {
  test('`..`, absolute and symlinked escapes are refused with 400 naming playbook', async () => {
    for (const playbook of ['../../secret_key', '/etc/passwd', 'roles/../../x.yml', 'evil.yml', 'etc/passwd', 'dangling.yml']) {
      expectRefused(await api('POST', '/api/v2/job_templates/', { name: `jt ${playbook}`, project, inventory, playbook }), 'playbook');
    }
    const ok = await api('POST', '/api/v2/job_templates/', { name: 'jt ok', project, inventory, playbook: 'site.yml' });
    expect(ok.status).toBe(201);
    expectRefused(await api('PATCH', `/api/v2/job_templates/${ok.json.id}/`, { playbook: 'evil.yml' }), 'playbook');
    expect((await api('PATCH', `/api/v2/job_templates/${ok.json.id}/`, { playbook: 'alias.yml' })).status).toBe(200);
    const { rows } = await env.pool.query('SELECT playbook FROM job_templates WHERE project_id = $1', [project]);
    expect(rows).toEqual([{ playbook: 'alias.yml' }]);
  });
});

describe('an inventory source\'s source_path is a file of its source project', () => {
  test('`..`, absolute and symlinked escapes are refused with 400 naming source_path', async () => {
    for (const sourcePath of ['../../secret_key', '/etc/hosts', 'etc/hosts', 'evil.yml', 'dangling.yml']) {
      expectRefused(await api('POST', '/api/v2/inventory_sources/', { name: `s ${sourcePath}`, inventory, source: 'scm',
        source_project: project, source_path: sourcePath }), 'source_path');
    }
    const ok = await api('POST', '/api/v2/inventory_sources/', { name: 's ok', inventory, source: 'scm', source_project: project, source_path: 'hosts.ini' });
    expect(ok.status).toBe(201);
    expectRefused(await api('PATCH', `/api/v2/inventory_sources/${ok.json.id}/`, { source_path: '../x' }), 'source_path');
    const { rows } = await env.pool.query('SELECT source_path FROM inventory_sources WHERE inventory_id = $1', [inventory]);
    expect(rows).toEqual([{ source_path: 'hosts.ini' }]);
  });
});

describe('what a project update or an inventory update would refuse is refused when written', () => {
  test('git options in scm_url, scm_branch and scm_refspec are a 400 naming the field, and nothing is stored', async () => {
    for (const [field, value] of [['scm_url', '--upload-pack=touch /tmp/pwned'], ['scm_branch', '--output=/tmp/pwned'],
      ['scm_refspec', '--upload-pack=touch /tmp/pwned']] as const) {
      const body = { name: `git ${field}`, organization: org, scm_type: 'git', scm_url: 'https://example.invalid/repo.git', [field]: value };
      expectRefused(await api('POST', '/api/v2/projects/', body), field);
    }
    expect((await api('GET', '/api/v2/projects/?name__startswith=git%20')).json.count).toBe(0);
  });

  test('source_vars naming a loader, interpreter or Ansible variable are a 400 naming source_vars', async () => {
    for (const name of ['LD_PRELOAD', 'PYTHONPATH', 'ANSIBLE_CONFIG']) {
      expectRefused(await api('POST', '/api/v2/inventory_sources/', { name: `vars ${name}`, inventory, source: 'scm', source_project: project,
        source_path: 'hosts.ini', source_vars: JSON.stringify({ [name]: '/tmp/evil' }) }), 'source_vars');
    }
    const ok = await api('POST', '/api/v2/inventory_sources/', { name: 'vars ok', inventory, source: 'scm', source_project: project,
      source_path: 'hosts.ini', source_vars: JSON.stringify({ MY_REGION: 'eu' }) });
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
  });
});
