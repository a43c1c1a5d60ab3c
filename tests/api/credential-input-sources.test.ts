import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { createProjectAndInventory, insertJobTemplate, pushedEvents, runInProcess } from '../scheduler/support.js';
import type { TestEnv } from '../support/harness.js';
import { signedKey, startVaultServer, type VaultServer } from '../support/vault-server.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Credential input sources: fields of a credential filled when a job starts from HashiCorp
 * Vault (KV v1 through AppRole, KV v2 and the SSH signer through a token), against a local
 * server speaking Vault's API (tests/support/vault-server.ts: Vault itself cannot be installed
 * here). The values reach the job and nothing else: not the database, not what Redis
 * carried, not a file left in the data dir.
 */
let t: TestEnv;
let api: ApiCall;
let vault: VaultServer;

const KV2_TOKEN = 'kv2-secret-Zq81-api-token';
const KV1_PASSWORD = 'kv1-secret-Pw55-db-password';
const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaystreamTestKey ops@example';
const SIGNED = signedKey(PUBLIC_KEY, 'ops', 'deploy');
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  vault = await startVaultServer({
    tokens: ['root-token-1', 'approle-token-1'],
    approles: { 'role-1': { secretId: 'secret-id-1', token: 'approle-token-1' } },
    kv1: { kv: { 'app/db': { password: KV1_PASSWORD, user: 'app' } } },
    kv2: { secret: { 'app/api': [{ token: 'old-version-token' }, { token: KV2_TOKEN }] } },
    ssh: { 'ssh-client-signer': ['ops'] },
  });
});
afterAll(async () => { await vault?.close(); });

async function typeId(namespace: string): Promise<number> {
  return (await t.pool.query('SELECT id FROM credential_types WHERE namespace = $1', [namespace])).rows[0].id;
}

describe('credential input sources from HashiCorp Vault', () => {
  let org: number;
  let kv2: number;
  let kv1: number;
  let ssh: number;
  let appType: number;
  let app: number;
  let machine: number;

  beforeAll(async () => {
    org = (await api('POST', '/api/v2/organizations/', { name: 'Vault Org' })).json.id;
    const cred = async (body: Record<string, unknown>) => {
      const res = await api('POST', '/api/v2/credentials/', { organization: org, ...body });
      expect(res.status, res.text).toBe(201);
      return res.json.id as number;
    };
    kv2 = await cred({ name: 'Vault KV2', credential_type: await typeId('hashivault_kv'), inputs: { url: vault.url, token: 'root-token-1', api_version: 'v2' } });
    kv1 = await cred({ name: 'Vault KV1 approle', credential_type: await typeId('hashivault_kv'),
      inputs: { url: vault.url, role_id: 'role-1', secret_id: 'secret-id-1', api_version: 'v1' } });
    ssh = await cred({ name: 'Vault SSH', credential_type: await typeId('hashivault_ssh'), inputs: { url: `${vault.url}/`, token: 'root-token-1' } });
    const type = await api('POST', '/api/v2/credential_types/', { name: 'App', kind: 'cloud',
      inputs: { fields: [{ id: 'api_token', label: 'API token', type: 'string', secret: true }, { id: 'db_password', label: 'DB', type: 'string', secret: true }] },
      injectors: { env: { APP_TOKEN: '{{ api_token }}' }, extra_vars: { db_password: '{{ db_password }}' } } });
    expect(type.status, type.text).toBe(201);
    appType = type.json.id;
    app = await cred({ name: 'App', credential_type: appType, inputs: {} });
    const machineType = (await t.pool.query(`SELECT id FROM credential_types WHERE namespace = 'ssh'`)).rows[0].id;
    machine = await cred({ name: 'Signed machine', credential_type: machineType,
      inputs: { username: 'deploy', ssh_key_data: '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----' } });
  });

  it('tests a lookup before it is saved (credential type) and with stored inputs (credential), never answering the value', async () => {
    const kvType = await typeId('hashivault_kv');
    const ok = await api('POST', `/api/v2/credential_types/${kvType}/test/`, {
      inputs: { url: vault.url, token: 'root-token-1', api_version: 'v2' }, metadata: { secret_path: 'secret/app/api', secret_key: 'token' } });
    expect(ok.status, ok.text).toBe(202);
    expect(ok.text).not.toContain(KV2_TOKEN);
    const denied = await api('POST', `/api/v2/credential_types/${kvType}/test/`, {
      inputs: { url: vault.url, token: 'wrong', api_version: 'v2' }, metadata: { secret_path: 'secret/app/api', secret_key: 'token' } });
    expect(denied.status).toBe(400);
    expect(denied.json).toEqual({ inputs: 'HTTP 403' });
    const noKey = await api('POST', `/api/v2/credentials/${kv2}/test/`, { metadata: { secret_path: 'secret/app/api', secret_key: 'nope' } });
    expect(noKey.status).toBe(400);
    expect(noKey.json.inputs).toBe('nope is not present at secret/app/api');
    // Stored inputs ("$encrypted$" keeps the stored token), then a changed one that Vault refuses.
    expect((await api('POST', `/api/v2/credentials/${kv2}/test/`, { inputs: { token: '$encrypted$' },
      metadata: { secret_path: 'app/api', secret_backend: 'secret', secret_key: 'token', secret_version: '1' } })).status).toBe(202);
    expect((await api('POST', `/api/v2/credentials/${kv2}/test/`, { inputs: { token: 'bad' }, metadata: { secret_path: 'secret/app/api', secret_key: 'token' } })).json)
      .toEqual({ inputs: 'HTTP 403' });
    // AppRole login, KV v1; and the SSH signer.
    expect((await api('POST', `/api/v2/credentials/${kv1}/test/`, { metadata: { secret_path: 'kv/app/db', secret_key: 'password' } })).status).toBe(202);
    expect((await api('POST', `/api/v2/credentials/${ssh}/test/`, { metadata: { secret_path: 'ssh-client-signer', role: 'ops', public_key: PUBLIC_KEY } })).status).toBe(202);
    expect((await api('POST', `/api/v2/credentials/${ssh}/test/`, { metadata: { secret_path: 'ssh-client-signer', role: 'nobody', public_key: PUBLIC_KEY } })).json)
      .toEqual({ inputs: 'HTTP 400' });
    expect(vault.requests.some((r) => r.path === '/v1/auth/approle/login' && r.method === 'POST')).toBe(true);
    expect(vault.requests.some((r) => r.path === '/v1/secret/data/app/api?version=1' && r.token === 'root-token-1')).toBe(true);
    // Not an external credential.
    expect((await api('POST', `/api/v2/credentials/${app}/test/`, {})).status).toBe(400);
  });

  it('refuses an input source that does not fit: not external, no such field, unknown or missing metadata', async () => {
    const post = (body: Record<string, unknown>) => api('POST', '/api/v2/credential_input_sources/', body);
    const good = { target_credential: app, source_credential: kv2, input_field_name: 'api_token', metadata: { secret_path: 'secret/app/api', secret_key: 'token' } };
    let res = await post({ ...good, source_credential: machine });
    expect([res.status, res.json.source_credential?.[0]]).toEqual([400, 'Source must be an external credential']);
    res = await post({ ...good, input_field_name: 'nope' });
    expect(res.status).toBe(400);
    expect(res.json.input_field_name[0]).toBe('Input field must be defined on target credential (options are api_token, db_password).');
    res = await post({ ...good, metadata: { secret_path: 'x', secret_key: 'y', color: 'red' } });
    expect(res.status).toBe(400);
    expect(res.json.metadata[0]).toContain("'color'");
    res = await post({ ...good, metadata: { secret_path: 'x' } });
    expect(res.status).toBe(400);
    expect(res.json.metadata.secret_key).toBeDefined();
    res = await post({ ...good, target_credential: kv1 });
    expect(res.json.target_credential?.[0]).toBe('Target must be a non-external credential');
    expect((await t.pool.query('SELECT count(*)::int AS n FROM credential_input_sources')).rows[0].n).toBe(0);
  });

  it('links a lookup credential only for a user who may use it, and lists sources only to readers of the target', async () => {
    const user = await api('POST', `/api/v2/organizations/${org}/users/`, { username: 'mallory', password: 'mallory-pass' });
    expect(user.status).toBe(201);
    const roles = async (cred: number) => (await api('GET', `/api/v2/credentials/${cred}/`)).json.summary_fields.object_roles;
    const target = (await api('POST', '/api/v2/credentials/', { name: 'Mallory target', organization: org, credential_type: appType, inputs: {} })).json.id;
    expect((await api('POST', `/api/v2/roles/${(await roles(target)).admin_role.id}/users/`, { id: user.json.id })).status).toBe(204);
    expect((await api('POST', `/api/v2/roles/${(await roles(kv2)).read_role.id}/users/`, { id: user.json.id })).status).toBe(204);
    const mallory = basicAuth('mallory', 'mallory-pass');
    const body = { source_credential: kv2, input_field_name: 'api_token', metadata: { secret_path: 'secret/app/api', secret_key: 'token' } };
    const refused = await api('POST', `/api/v2/credentials/${target}/input_sources/`, body, mallory);
    expect(refused.status, refused.text).toBe(403);
    expect((await api('POST', '/api/v2/credential_input_sources/', { ...body, target_credential: target }, mallory)).status).toBe(403);
    // Testing needs use as well: read is not enough to make the lookup answer.
    expect((await api('POST', `/api/v2/credentials/${kv2}/test/`, { metadata: { secret_path: 'secret/app/api', secret_key: 'token' } }, mallory)).status).toBe(403);
    // Use lets mallory test the lookup as stored, not send its stored token to a server of hers.
    expect((await api('POST', `/api/v2/roles/${(await roles(kv2)).use_role.id}/users/`, { id: user.json.id })).status).toBe(204);
    expect((await api('POST', `/api/v2/credentials/${kv2}/test/`, { metadata: { secret_path: 'secret/app/api', secret_key: 'token' } }, mallory)).status).toBe(202);
    const before = vault.requests.length;
    const exfiltrate = await api('POST', `/api/v2/credentials/${kv2}/test/`, { inputs: { url: 'http://127.0.0.1:9/' },
      metadata: { secret_path: 'secret/app/api', secret_key: 'token' } }, mallory);
    expect(exfiltrate.status).toBe(403);
    expect(vault.requests.length).toBe(before);
    // With use of the lookup but not admin of the target (App): refused too.
    expect((await api('POST', '/api/v2/credential_input_sources/', { ...body, target_credential: app }, mallory)).status).toBe(403);
    const made = await api('POST', `/api/v2/credentials/${target}/input_sources/`, body, mallory);
    expect(made.status, made.text).toBe(201);
    expect(made.json.target_credential).toBe(target);
    const other = await api('POST', '/api/v2/users/', { username: 'oscar', password: 'oscar-pass' });
    expect(other.status).toBe(201);
    expect((await api('GET', '/api/v2/credential_input_sources/', undefined, basicAuth('oscar', 'oscar-pass'))).json.count).toBe(0);
    expect((await api('GET', `/api/v2/credential_input_sources/${made.json.id}/`, undefined, basicAuth('oscar', 'oscar-pass'))).status).toBe(403);
    expect((await api('DELETE', `/api/v2/credential_input_sources/${made.json.id}/`, undefined, basicAuth('oscar', 'oscar-pass'))).status).toBe(403);
    expect((await api('DELETE', `/api/v2/credential_input_sources/${made.json.id}/`, undefined, mallory)).status).toBe(204);
  });

  it('fills the fields when a job starts, and leaves the values nowhere after it', async () => {
    const source = async (target: number, body: Record<string, unknown>) => {
      const res = await api('POST', `/api/v2/credentials/${target}/input_sources/`, body);
      expect(res.status, res.text).toBe(201);
    };
    await source(app, { source_credential: kv2, input_field_name: 'api_token', metadata: { secret_path: 'secret/app/api', secret_key: 'token' } });
    await source(app, { source_credential: kv1, input_field_name: 'db_password', metadata: { secret_path: 'app/db', secret_backend: 'kv', secret_key: 'password' } });
    await source(machine, { source_credential: ssh, input_field_name: 'ssh_public_key_data',
      metadata: { secret_path: 'ssh-client-signer', role: 'ops', public_key: PUBLIC_KEY, valid_principals: 'deploy' } });
    expect((await api('GET', `/api/v2/credentials/${app}/input_sources/`)).json.count).toBe(2);

    const { project, inventory } = await createProjectAndInventory(t, org, {
      'use.yml': `- hosts: all
  gather_facts: false
  tasks:
    - debug: msg="token={{ lookup('env', 'APP_TOKEN') | hash('sha1') }} db={{ db_password | hash('sha1') }}"
    - debug: msg="cert={{ lookup('file', lookup('fileglob', lookup('env', 'HOME') + '/../credential_*_key-cert.pub')) | hash('sha1') }}"
    - debug: msg="raw={{ lookup('env', 'APP_TOKEN') }} {{ db_password }}"
`,
    });
    expect((await runInProcess(t, await launchProjectUpdate(t.pool, project))).status).toBe('successful');
    const template = await insertJobTemplate(t.pool, { name: 'Uses vault', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'use.yml' });
    await t.pool.query('INSERT INTO job_template_credentials (job_template_id, credential_id) VALUES ($1, $2), ($1, $3)', [template, app, machine]);
    const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
    expect(job.status, `${job.job_explanation} ${job.result_traceback}`).toBe('successful');
    const events = await pushedEvents(t, 'job_id', job.id);
    const msgs = events.filter((e) => e.event === 'runner_on_ok').map((e) => e.event_data.res.msg as string);
    expect(msgs[0]).toBe(`token=${sha1(KV2_TOKEN)} db=${sha1(KV1_PASSWORD)}`);
    expect(msgs[1]).toBe(`cert=${sha1(SIGNED)}`);
    expect(msgs[2]).toBe('raw=********** **********');

    for (const secret of [KV2_TOKEN, KV1_PASSWORD, SIGNED]) {
      // The whole database, every row of every table as text.
      const { rows: tables } = await t.pool.query(`SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
        AND c.relkind IN ('r', 'p') AND NOT c.relispartition`);
      for (const { relname } of tables) {
        const { rows: [hit] } = await t.pool.query(`SELECT count(*)::int AS n FROM "${relname}" x WHERE strpos(x::text, $1) > 0`, [secret]);
        expect(hit.n, `${relname} holds a looked-up value`).toBe(0);
      }
      // What Redis carried (the job's events) and any file in the data dir (the job's env/args files included).
      const raw = await t.redis.lrange(t.config.redisPrefix + t.config.callbackQueue, 0, -1);
      expect(raw.some((r) => r.includes(secret))).toBe(false);
      const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
        const p = path.join(dir, d.name);
        return d.isDirectory() ? walk(p) : d.isFile() && fs.statSync(p).size < 8 << 20 ? [p] : [];
      });
      for (const file of walk(t.dataDir)) expect(fs.readFileSync(file).includes(secret), file).toBe(false);
    }
    expect(job.job_env).toBeTruthy();
  });

  it('errors a job whose lookup fails, before anything runs, saying which field', async () => {
    const target = (await api('POST', '/api/v2/credentials/', { name: 'Broken app', organization: org, credential_type: appType, inputs: {} })).json.id;
    expect((await api('POST', `/api/v2/credentials/${target}/input_sources/`, { source_credential: kv2, input_field_name: 'api_token',
      metadata: { secret_path: 'secret/app/missing', secret_key: 'token' } })).status).toBe(201);
    const { rows: [{ project_id: project, inventory_id: inventory }] } = await t.pool.query(
      `SELECT project_id, inventory_id FROM job_templates WHERE name = 'Uses vault'`);
    const template = await insertJobTemplate(t.pool, { name: 'Broken lookup', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'use.yml' });
    await t.pool.query('INSERT INTO job_template_credentials (job_template_id, credential_id) VALUES ($1, $2)', [template, target]);
    const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
    expect(job.status).toBe('error');
    expect(job.job_explanation).toContain('api_token');
    expect(job.job_explanation).toContain('HTTP 404');
    expect((await pushedEvents(t, 'job_id', job.id)).filter((e) => e.event === 'runner_on_ok')).toEqual([]);
  });
});
