import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/redis-keys.js';
import { launchInventoryUpdate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import type { TestEnv } from '../support/harness.js';
import { useSeededWeb, type ApiCall } from '../support/web.js';
import { createGitRepo, orgId, runInProcess } from './support.js';

/**
 * A real scm inventory sync (ansible-inventory in the sandbox) with the import options AWX
 * applies: host_filter (a regex matched at the start of the name), enabled_var/enabled_value
 * (nested, case-insensitive), and the API refusing what Playstream does not do (file sources,
 * scm_branch, limit) or what cannot work (a regex that does not compile, a cloud source without
 * its credential).
 */
let t: TestEnv;
let api: ApiCall;
let project: number;
let inv: number;

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  const repo = path.join(t.dataDir, 'inv-repo');
  createGitRepo(repo, { 'hosts.yml': `all:
  children:
    web:
      hosts:
        web1: { state: { power: RUNNING } }
        web2: { state: { power: stopped } }
    db:
      hosts:
        db1: { state: { power: running } }
` });
  const org = await orgId(t.pool);
  project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
    VALUES ('InvP', $1, 'git', $2, 'invp') RETURNING id`, [org, `file://${repo}`])).rows[0].id;
  expect((await runInProcess(t, await launchProjectUpdate(t.pool, project))).status).toBe('successful');
  inv = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('Imp', $1) RETURNING id`, [org])).rows[0].id;
});

describe('inventory import options', () => {
  it('imports only hosts host_filter matches, with enabled from enabled_var/enabled_value', async () => {
    const src = await api('POST', '/api/v2/inventory_sources/', { name: 'f', inventory: inv, source: 'scm', source_project: project,
      source_path: 'hosts.yml', host_filter: 'web', enabled_var: 'state.power', enabled_value: 'running' });
    expect(src.status, JSON.stringify(src.json)).toBe(201);
    const update = await runInProcess(t, await launchInventoryUpdate(t.pool, src.json.id));
    expect(update.status, update.job_explanation).toBe('successful');
    const { rows } = await t.pool.query('SELECT name, enabled FROM hosts WHERE inventory_id = $1 ORDER BY name', [inv]);
    expect(rows).toEqual([{ name: 'web1', enabled: true }, { name: 'web2', enabled: false }]);
  });

  it('refuses a file source, an scm_branch, a bad host_filter and a credential of the wrong cloud', async () => {
    const base = { inventory: inv, source: 'scm', source_project: project, source_path: 'hosts.yml' };
    const post = (extra: Record<string, unknown>) => api('POST', '/api/v2/inventory_sources/', { name: `s${Math.random()}`, ...base, ...extra });
    expect(Object.keys((await post({ source: 'file' })).json)).toEqual(['source']);
    expect(Object.keys((await post({ scm_branch: 'dev' })).json)).toEqual(['scm_branch']);
    expect(Object.keys((await post({ limit: 'web1' })).json)).toEqual(['limit']);
    expect(Object.keys((await post({ host_filter: 'web(' })).json)).toEqual(['host_filter']);
    const types = (await api('GET', '/api/v2/credential_types/?page_size=100')).json.results;
    const typeId = (ns: string) => types.find((r: any) => r.namespace === ns).id;
    const aws = (await api('POST', '/api/v2/credentials/', { name: 'aws', organization: null, credential_type: typeId('aws'),
      inputs: { username: 'a', password: 'b' } })).json.id;
    const noCred = await post({ source: 'gce', source_project: null });
    expect(noCred.status).toBe(400);
    expect(noCred.json.credential[0]).toBe('Credential is required for a cloud source.');
    const wrong = await post({ source: 'gce', source_project: null, credential: aws });
    expect(wrong.json.credential[0]).toMatch(/require credentials for the matching cloud service/);
    // ec2 takes the aws credential (or none); its source_vars are plugin options, not environment names.
    const ec2 = await post({ source: 'ec2', source_project: null, source_path: '', credential: aws, source_vars: 'regions: [eu-west-1]\nPATH: ok' });
    expect(ec2.status, JSON.stringify(ec2.json)).toBe(201);
    expect((await post({ source_vars: 'PATH: /x' })).json.source_vars[0]).toMatch(/PATH/);
  });

  it('runs a cloud source\'s plugin in the sandbox with the credential redacted from its output', async () => {
    const types = (await api('GET', '/api/v2/credential_types/?page_size=100')).json.results;
    const controller = types.find((r: any) => r.namespace === 'controller').id;
    const cred = await api('POST', '/api/v2/credentials/', { name: 'aap', organization: null, credential_type: controller,
      inputs: { host: 'https://127.0.0.1:9', username: 'u', password: 'pw-Secret-77', verify_ssl: false } });
    const inv3 = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('Cloud', $1) RETURNING id`, [await orgId(t.pool)])).rows[0].id;
    const src = await api('POST', '/api/v2/inventory_sources/', { name: 'c', inventory: inv3, source: 'controller', credential: cred.json.id,
      source_vars: 'inventory_id: 1' });
    expect(src.status, JSON.stringify(src.json)).toBe(201);
    const update = await runInProcess(t, await launchInventoryUpdate(t.pool, src.json.id));
    // Nothing listens on port 9: the update fails in ansible-inventory, having read the plugin file AWX's injector writes.
    expect(update.status).toBe('failed');
    expect(update.job_explanation).toMatch(/ansible-inventory failed/);
    // Its events wait in Redis (no receiver runs here): what ansible-inventory printed is there, the password is not.
    const events = (await t.redis.lrange(redisKeys(t.config).callbackQueue, 0, -1)).filter((e) => e.includes(`"inventory_update_id":${update.id}`));
    expect(events.join('\n')).toContain('ansible-inventory');
    expect(events.join('\n') + update.job_explanation).not.toContain('pw-Secret-77');
  });
});
