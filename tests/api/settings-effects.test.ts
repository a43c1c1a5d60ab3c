import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchInventoryUpdate, launchJobTemplate } from '../../src/scheduler/launch.js';
import { startFactCache } from '../../src/scheduler/fact-cache.js';
import { basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';
import type { TestEnv } from '../support/harness.js';
import { syncedProjectAndInventory, insertJobTemplate, pushedEvents, runInProcess } from '../scheduler/support.js';

/**
 * Every setting /api/v2/settings/ stores is read by the code it governs, or refused: each
 * setting that was stored and never read now either has its effect here (a job's environment,
 * its execution environment, the fact cache's age limit, inventory syncs in the activity
 * stream, who sees users, who gets OAuth 2 tokens) or a 400 naming it.
 */
let t: TestEnv;
let api: ApiCall;
let org: number;
let project: number;
let inventory: number;

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  org = (await api('POST', '/api/v2/organizations/', { name: 'Settings Org' })).json.id;
  ({ project, inventory } = await syncedProjectAndInventory(t, org, {
    'hosts-a.ini': 'a1\na2\n',
    'hosts-b.ini': 'a2\na3\n',
    'env.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "task env {{ lookup(\'env\', \'PS_SITE\') }}"\n',
  }));
});

const setting = async (key: string) => (await t.pool.query('SELECT value FROM api_settings WHERE key = $1', [key])).rows[0]?.value;

describe('settings Playstream does not implement', () => {
  it('keep their default: another value is a 400 naming the setting and nothing is stored', async () => {
    const cases: [string, string, unknown, unknown][] = [
      ['system', 'CUSTOM_VENV_PATHS', ['/opt/venvs'], []],
      ['system', 'AUTOMATION_ANALYTICS_URL', 'https://example.com', ''],
      ['system', 'REMOTE_HOST_HEADERS', ['HTTP_X_FORWARDED_FOR'], ['REMOTE_ADDR', 'REMOTE_HOST']],
      ['jobs', 'AWX_ISOLATION_BASE_PATH', '/var/tmp', '/tmp'],
      ['jobs', 'EVENT_STDOUT_MAX_BYTES_DISPLAY', 2048, 0],
      ['authentication', 'DISABLE_LOCAL_AUTH', true, false],
      ['ui', 'PENDO_TRACKING_STATE', 'detailed', 'off'],
      ['logging', 'LOG_AGGREGATOR_ENABLED', true, false],
    ];
    for (const [slug, key, other, dflt] of cases) {
      const refused = await api('PATCH', `/api/v2/settings/${slug}/`, { [key]: other });
      expect(refused.status, key).toBe(400);
      expect(refused.json[key][0], key).toMatch(/^Playstream does not support changing this setting/);
      expect(await setting(key), key).toBeUndefined();
      expect((await api('PATCH', `/api/v2/settings/${slug}/`, { [key]: dflt })).status, key).toBe(200);
    }
  });

  it('DELETE puts a category back to its defaults', async () => {
    expect((await api('PATCH', '/api/v2/settings/jobs/', { SCHEDULE_MAX_JOBS: 3 })).status).toBe(200);
    // Only a superuser resets: an organization's admin is refused and the value stays.
    const admin = (await api('POST', '/api/v2/users/', { username: 'reset-try', password: 'reset-try-pw-1' })).json.id;
    expect((await api('POST', `/api/v2/organizations/${org}/admins/`, { id: admin })).status).toBe(204);
    expect((await api('DELETE', '/api/v2/settings/jobs/', undefined, basicAuth('reset-try', 'reset-try-pw-1'))).status).toBe(403);
    expect(await setting('SCHEDULE_MAX_JOBS')).toBe(3);
    expect((await api('DELETE', '/api/v2/settings/jobs/')).status).toBe(204);
    expect((await api('GET', '/api/v2/settings/jobs/')).json.SCHEDULE_MAX_JOBS).toBe(10);
    expect(await setting('SCHEDULE_MAX_JOBS')).toBeUndefined();
  });
});

describe('settings a job reads', () => {
  it('AWX_TASK_ENV reaches the job\'s environment; a value that is not a map of strings is refused', async () => {
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AWX_TASK_ENV: ['PS_SITE=x'] })).json.AWX_TASK_ENV).toEqual(['Expected a dictionary of items.']);
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AWX_TASK_ENV: { PS_SITE: 7 } })).json.AWX_TASK_ENV).toEqual(['The value of PS_SITE must be a string.']);
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AWX_TASK_ENV: { PS_SITE: 'lab-7' } })).status).toBe(200);
    const template = await insertJobTemplate(t.pool, { name: 'env', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'env.yml' });
    const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
    const out = (await pushedEvents(t, 'job_id', job.id)).map((e) => e.stdout ?? '').join('\n');
    expect(job.status, out).toBe('successful');
    expect(out).toContain('task env lab-7');
    expect((typeof job.job_env === 'string' ? JSON.parse(job.job_env) : job.job_env).PS_SITE).toBe('lab-7');
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AWX_TASK_ENV: {} })).status).toBe(200);
  });

  it('a job\'s page shows its environment (job_env) and command (job_args), with what may be secret hidden as AWX hides it', async () => {
    const secrets = { PS_API_HANDLE: 'api-s3cr3t', PS_PASSPHRASE: 'passphr4se', PS_PROXY: 'http://user:pr0xypw@proxy.example:3128' };
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AWX_TASK_ENV: { PS_SITE: 'lab-8', ...secrets } })).status).toBe(200);
    const template = await insertJobTemplate(t.pool, { name: 'env-shown', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'env.yml' });
    const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
    expect(job.status).toBe('successful');
    const detail = (await api('GET', `/api/v2/jobs/${job.id}/`)).json;
    expect(detail.job_env.PS_SITE).toBe('lab-8');
    expect(detail.job_env.PS_API_HANDLE).toBe('**********');
    expect(detail.job_env.PS_PASSPHRASE).toBe('**********');
    expect(detail.job_env.PS_PROXY).toBe('http://user:**********@proxy.example:3128');
    expect(detail.job_env.AWX_JOB_ID).toBe(String(job.id));
    expect(JSON.parse(detail.job_args)[0]).toMatch(/ansible-runner/);
    for (const v of ['api-s3cr3t', 'passphr4se', 'pr0xypw']) expect(JSON.stringify(detail), v).not.toContain(v);
    const listed = (await api('GET', `/api/v2/jobs/?id=${job.id}`)).json.results[0];
    expect(listed).not.toHaveProperty('job_env');
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AWX_TASK_ENV: {} })).status).toBe(200);
  });

  it('DEFAULT_EXECUTION_ENVIRONMENT is the environment of a job that names none', async () => {
    expect((await api('PATCH', '/api/v2/settings/system/', { DEFAULT_EXECUTION_ENVIRONMENT: 99999 })).json.DEFAULT_EXECUTION_ENVIRONMENT)
      .toEqual(['Invalid pk "99999" - object does not exist.']);
    const made = await api('POST', '/api/v2/execution_environments/', { name: 'Global image', image: 'quay.io/example/ee:1' });
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    const ee = made.json.id;
    const set = await api('PATCH', '/api/v2/settings/system/', { DEFAULT_EXECUTION_ENVIRONMENT: ee });
    expect(set.status, JSON.stringify(set.json)).toBe(200);
    const template = await insertJobTemplate(t.pool, { name: 'default ee', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'env.yml' });
    const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
    expect(Number(job.execution_environment_id)).toBe(ee);
    // An image needs a container runtime, which this controller has not: the job errors saying so.
    expect(job.status).toBe('error');
    expect(job.job_explanation).toContain('"Global image"');
    expect((await api('PATCH', '/api/v2/settings/system/', { DEFAULT_EXECUTION_ENVIRONMENT: null })).status).toBe(200);
  });

  it('ANSIBLE_FACT_CACHE_TIMEOUT keeps facts older than it out of a job\'s fact cache', async () => {
    const { rows: [host] } = await t.pool.query(
      `INSERT INTO hosts (name, inventory_id, ansible_facts, ansible_facts_modified) VALUES ('old-facts', $1, '{"site": "lab"}', now() - interval '2 hours') RETURNING id`,
      [inventory]);
    const dir = (name: string) => path.join(t.dataDir, 'fact-cache-test', name);
    await startFactCache(t.pool, inventory, dir('no-limit'));
    expect(JSON.parse(fs.readFileSync(path.join(dir('no-limit'), 'old-facts'), 'utf8'))).toEqual({ site: 'lab' });
    expect((await api('PATCH', '/api/v2/settings/jobs/', { ANSIBLE_FACT_CACHE_TIMEOUT: 3600 })).status).toBe(200);
    await startFactCache(t.pool, inventory, dir('one-hour'));
    expect(fs.existsSync(path.join(dir('one-hour'), 'old-facts'))).toBe(false);
    await t.pool.query(`UPDATE hosts SET ansible_facts_modified = now() - interval '10 minutes' WHERE id = $1`, [host.id]);
    await startFactCache(t.pool, inventory, dir('fresh'));
    expect(fs.existsSync(path.join(dir('fresh'), 'old-facts'))).toBe(true);
    expect((await api('PATCH', '/api/v2/settings/jobs/', { ANSIBLE_FACT_CACHE_TIMEOUT: 0 })).status).toBe(200);
  });
});

describe('settings the API reads', () => {
  it('ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC records what a sync created and removed, only when on', async () => {
    const synced = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('Synced', $1) RETURNING id`, [org])).rows[0].id;
    const source = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path, source_project_id, overwrite)
      VALUES ('file', $1, 'scm', 'hosts-a.ini', $2, true) RETURNING id`, [synced, project])).rows[0].id;
    const entries = async () => (await t.pool.query(
      `SELECT operation, object1, changes->>'name' AS name FROM activity_stream WHERE changes->>'inventory' = $1 ORDER BY id`, [String(synced)])).rows;
    const sync = async (file: string) => {
      await t.pool.query('UPDATE inventory_sources SET source_path = $2 WHERE id = $1', [source, file]);
      const update = await runInProcess(t, await launchInventoryUpdate(t.pool, source));
      expect(update.status, update.job_explanation).toBe('successful');
    };
    // Off (AWX's default): a sync leaves no entries.
    await sync('hosts-a.ini');
    expect(await entries()).toEqual([]);
    expect((await api('PATCH', '/api/v2/settings/system/', { ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC: true })).status).toBe(200);
    await sync('hosts-b.ini');
    expect(await entries()).toEqual([{ operation: 'create', object1: 'host', name: 'a3' }, { operation: 'delete', object1: 'host', name: 'a1' }]);
    expect((await api('PATCH', '/api/v2/settings/system/', { ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC: false })).status).toBe(200);
  });

  it('ORG_ADMINS_CAN_SEE_ALL_USERS: an organization admin sees every user while on, only their members when off', async () => {
    const other = (await api('POST', '/api/v2/organizations/', { name: 'Elsewhere' })).json.id;
    const mk = async (username: string) => (await api('POST', '/api/v2/users/', { username, password: `${username}-password-1` })).json.id;
    const admin = await mk('olga');
    const outsider = await mk('oscar');
    expect((await api('POST', `/api/v2/organizations/${org}/admins/`, { id: admin })).status).toBe(204);
    expect((await api('POST', `/api/v2/organizations/${other}/users/`, { id: outsider })).status).toBe(204);
    const olga = basicAuth('olga', 'olga-password-1');
    expect((await api('GET', `/api/v2/users/${outsider}/`, undefined, olga)).status).toBe(200);
    expect((await api('PATCH', '/api/v2/settings/system/', { ORG_ADMINS_CAN_SEE_ALL_USERS: false })).status).toBe(200);
    expect((await api('GET', `/api/v2/users/${outsider}/`, undefined, olga)).status).toBe(403);
    expect((await api('GET', '/api/v2/users/?username=oscar', undefined, olga)).json.count).toBe(0);
    expect((await api('PATCH', '/api/v2/settings/system/', { ORG_ADMINS_CAN_SEE_ALL_USERS: true })).status).toBe(200);
  });

  it('ALLOW_OAUTH2_FOR_EXTERNAL_USERS: an LDAP user gets no token unless it is on', async () => {
    const id = (await api('POST', '/api/v2/users/', { username: 'lena', password: 'lena-password-1' })).json.id;
    await t.pool.query(`UPDATE users SET ldap_dn = 'uid=lena,ou=people,dc=example,dc=org' WHERE id = $1`, [id]);
    const refused = await api('POST', `/api/v2/users/${id}/personal_tokens/`, { scope: 'read' });
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toMatch(/external authentication provider/);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM api_tokens WHERE user_id = $1', [id])).rows[0].n).toBe(0);
    expect((await api('PATCH', '/api/v2/settings/authentication/', { ALLOW_OAUTH2_FOR_EXTERNAL_USERS: true })).status).toBe(200);
    expect((await api('POST', `/api/v2/users/${id}/personal_tokens/`, { scope: 'read' })).status).toBe(201);
  });
});
