import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managedCredentialTypes, managedType } from '../../src/db/managed-credential-types.js';
import { renderInjection, type CredentialTypeDef } from '../../src/scheduler/credentials/render-injection.js';
import type { TestEnv } from '../support/harness.js';
import { useSeededWeb, type ApiCall } from '../support/web.js';

/**
 * Every managed credential type AWX ships, as a job receives it: the environment, extra vars
 * and files AWX's injectors produce for the same inputs (its credential/injectors.py for the
 * builtin ones, the type's templates for the others, RunJob.build_env for net). Machine,
 * Source Control and Vault are command-line arguments and prompts (tests/scheduler/
 * ask-passwords.test.ts, project-credentials.test.ts); the token, registry, galaxy, gpg and
 * external lookup types inject nothing into a job, in AWX as here. Written paths read
 * `{{ file }}`, `{{ file_1 }}`… in order of writing.
 */
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function render(namespace: string, inputs: Record<string, unknown>, forInventory = false) {
  const t = managedType(namespace)!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cred-${namespace}-`));
  dirs.push(dir);
  const out = renderInjection({ ...t, managed: true }, inputs, dir, { credentialId: 3, forInventory });
  const names = new Map(out.files.map((f, i) => [f, i ? `{{ file_${i} }}` : '{{ file }}']));
  const swap = (v: string) => names.get(v) ?? v;
  return {
    env: Object.fromEntries(Object.entries(out.env).map(([k, v]) => [k, swap(v)])),
    extraVars: out.extraVars,
    files: Object.fromEntries(out.files.map((f) => [names.get(f)!, fs.readFileSync(f, 'utf8')])),
  };
}

const KEY = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----';

const CASES: { namespace: string; inputs: Record<string, unknown>; env: Record<string, string>; extraVars?: Record<string, unknown>; files?: Record<string, string>; forInventory?: boolean }[] = [
  { namespace: 'aws', inputs: { username: 'AKIA', password: 'sk' }, env: { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk' } },
  { namespace: 'aws', inputs: { username: 'AKIA', password: 'sk', security_token: 'sts' },
    env: { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk', AWS_SECURITY_TOKEN: 'sts', AWS_SESSION_TOKEN: 'sts' } },
  { namespace: 'gce', inputs: { username: 'sa@p.iam', project: 'p1', ssh_key_data: KEY },
    env: { GCE_EMAIL: 'sa@p.iam', GCE_PROJECT: 'p1', GCE_CREDENTIALS_FILE_PATH: '{{ file }}', GCP_SERVICE_ACCOUNT_FILE: '{{ file }}',
      GOOGLE_APPLICATION_CREDENTIALS: '{{ file }}', GCP_AUTH_KIND: 'serviceaccount', GCP_PROJECT: 'p1', GCP_ENV_TYPE: 'tower' },
    files: { '{{ file }}': JSON.stringify({ type: 'service_account', private_key: KEY, client_email: 'sa@p.iam', project_id: 'p1',
      token_uri: 'https://oauth2.googleapis.com/token' }, null, 2) } },
  { namespace: 'azure_rm', inputs: { subscription: 's', client: 'c', secret: 'x', tenant: 't' },
    env: { AZURE_SUBSCRIPTION_ID: 's', AZURE_CLIENT_ID: 'c', AZURE_TENANT: 't', AZURE_SECRET: 'x' } },
  { namespace: 'azure_rm', inputs: { subscription: 's', username: 'u', password: 'p', cloud_environment: 'AzureUSGovernment' },
    env: { AZURE_SUBSCRIPTION_ID: 's', AZURE_AD_USER: 'u', AZURE_PASSWORD: 'p', AZURE_CLOUD_ENVIRONMENT: 'AzureUSGovernment' } },
  { namespace: 'vmware', inputs: { host: 'vc', username: 'u', password: 'p' },
    env: { VMWARE_USER: 'u', VMWARE_PASSWORD: 'p', VMWARE_HOST: 'vc', VMWARE_VALIDATE_CERTS: 'False' } },
  { namespace: 'openstack', inputs: { username: 'u', password: 'p', host: 'https://ks/v3', project: 'pr', domain: 'd', region: 'r1' },
    env: { OS_CLIENT_CONFIG_FILE: '{{ file }}' },
    files: { '{{ file }}': 'clouds:\n  devstack:\n    auth:\n      auth_url: https://ks/v3\n      domain_name: d\n      password: p\n'
      + '      project_name: pr\n      username: u\n    region_name: r1\n    verify: true\n' } },
  { namespace: 'satellite6', inputs: { host: 'https://sat', username: 'u', password: 'p' }, env: {} },
  { namespace: 'rhv', inputs: { host: 'https://rhv', username: 'u', password: 'p' },
    env: { OVIRT_INI_PATH: '{{ file }}', OVIRT_URL: 'https://rhv', OVIRT_USERNAME: 'u', OVIRT_PASSWORD: 'p' },
    files: { '{{ file }}': '[ovirt]\novirt_url=https://rhv\novirt_username=u\novirt_password=p\n' } },
  { namespace: 'insights', inputs: { username: 'u', password: 'p' }, env: { INSIGHTS_USER: 'u', INSIGHTS_PASSWORD: 'p' },
    extraVars: { scm_username: 'u', scm_password: 'p' } },
  { namespace: 'insights', inputs: { username: 'u', password: 'p' }, env: { INSIGHTS_USER: 'u', INSIGHTS_PASSWORD: 'p' }, extraVars: {}, forInventory: true },
  { namespace: 'controller', inputs: { host: 'https://aap', oauth_token: 'tok', verify_ssl: true },
    env: { TOWER_HOST: 'https://aap', TOWER_USERNAME: '', TOWER_PASSWORD: '', TOWER_VERIFY_SSL: 'True', TOWER_OAUTH_TOKEN: 'tok',
      CONTROLLER_HOST: 'https://aap', CONTROLLER_USERNAME: '', CONTROLLER_PASSWORD: '', CONTROLLER_VERIFY_SSL: 'True', CONTROLLER_OAUTH_TOKEN: 'tok' } },
  { namespace: 'kubernetes_bearer_token', inputs: { host: 'https://k8s', bearer_token: 'bt', verify_ssl: true, ssl_ca_cert: 'CA' },
    env: { K8S_AUTH_HOST: 'https://k8s', K8S_AUTH_API_KEY: 'bt', K8S_AUTH_VERIFY_SSL: 'True', K8S_AUTH_SSL_CA_CERT: '{{ file }}' }, files: { '{{ file }}': 'CA' } },
  { namespace: 'kubernetes_bearer_token', inputs: { host: 'https://k8s', bearer_token: 'bt' },
    env: { K8S_AUTH_HOST: 'https://k8s', K8S_AUTH_API_KEY: 'bt', K8S_AUTH_VERIFY_SSL: 'False' } },
  { namespace: 'terraform', inputs: { configuration: 'bucket = "b"', gce_credentials: '{"type":"service_account"}' },
    env: { TF_BACKEND_CONFIG_FILE: '{{ file }}', GOOGLE_BACKEND_CREDENTIALS: '{{ file_1 }}' },
    files: { '{{ file }}': 'bucket = "b"', '{{ file_1 }}': '{"type":"service_account"}' } },
  { namespace: 'net', inputs: { username: 'u', password: 'p', ssh_key_data: KEY, authorize: true, authorize_password: 'en' },
    env: { ANSIBLE_NET_USERNAME: 'u', ANSIBLE_NET_PASSWORD: 'p', ANSIBLE_NET_SSH_KEYFILE: '{{ file }}', ANSIBLE_NET_AUTHORIZE: '1', ANSIBLE_NET_AUTH_PASS: 'en' },
    files: { '{{ file }}': `${KEY}\n` } },
  { namespace: 'net', inputs: { username: 'u' }, env: { ANSIBLE_NET_USERNAME: 'u', ANSIBLE_NET_PASSWORD: '', ANSIBLE_NET_AUTHORIZE: '0' } },
  ...['registry', 'galaxy_api_token', 'github_token', 'gitlab_token', 'bitbucket_dc_token', 'gpg_public_key', 'hashivault_kv', 'hashivault_ssh',
    'azure_kv', 'aim', 'conjur', 'centrify_vault_kv', 'thycotic_dsv', 'thycotic_tss', 'aws_secretsmanager_credential']
    .map((namespace) => ({ namespace, inputs: { token: 'x', url: 'https://x', host: 'h' }, env: {} })),
];

describe('managed credential types inject what AWX injects', () => {
  it('ships every type AWX ships, with its secret fields', () => {
    expect(managedCredentialTypes.map((t) => t.namespace).sort()).toEqual(['aim', 'aws', 'aws_secretsmanager_credential', 'azure_kv', 'azure_rm',
      'bitbucket_dc_token', 'centrify_vault_kv', 'conjur', 'controller', 'gce', 'github_token', 'gitlab_token', 'gpg_public_key', 'hashivault_kv',
      'hashivault_ssh', 'insights', 'kubernetes_bearer_token', 'net', 'openstack', 'registry', 'rhv', 'satellite6', 'scm', 'ssh', 'terraform',
      'thycotic_dsv', 'thycotic_tss', 'vault', 'vmware', 'galaxy_api_token'].sort());
    const secrets = Object.fromEntries(managedCredentialTypes.map((t) => [t.namespace, (t.inputs.fields ?? []).filter((f) => f.secret).map((f) => f.id)]));
    expect(secrets).toMatchObject({ ssh: ['password', 'ssh_key_data', 'ssh_public_key_data', 'ssh_key_unlock', 'become_password'],
      net: ['password', 'ssh_key_data', 'ssh_key_unlock', 'authorize_password'], aws: ['password', 'security_token'], gce: ['ssh_key_data'],
      azure_rm: ['password', 'secret'], controller: ['password', 'oauth_token'], kubernetes_bearer_token: ['bearer_token', 'ssl_ca_cert'],
      terraform: ['configuration', 'gce_credentials'], hashivault_kv: ['token', 'secret_id', 'client_cert_private', 'password'],
      gpg_public_key: ['gpg_public_key'], galaxy_api_token: ['token'], registry: ['password'] });
    const asked = managedCredentialTypes.flatMap((t) => (t.inputs.fields ?? []).filter((f) => f.ask_at_runtime).map((f) => `${t.namespace}.${f.id}`));
    expect(asked).toEqual(['ssh.password', 'ssh.ssh_key_unlock', 'ssh.become_password', 'vault.vault_password']);
    expect(managedType('hashivault_kv')!.inputs.metadata!.map((f) => f.id)).toEqual(['secret_backend', 'secret_path', 'auth_path', 'secret_key', 'secret_version']);
    expect(managedType('aim')!.inputs.metadata!.find((f) => f.id === 'object_query_format')).toMatchObject({ choices: ['Exact', 'Regexp'], default: 'Exact' });
  });

  for (const c of CASES) {
    it(`${c.namespace} ${JSON.stringify(c.inputs)}${c.forInventory ? ' (inventory update)' : ''}`, () => {
      const out = render(c.namespace, c.inputs, c.forInventory);
      expect(out.env).toEqual(c.env);
      expect(out.extraVars).toEqual(c.extraVars ?? {});
      expect(out.files).toEqual(c.files ?? {});
    });
  }
});

describe('custom credential types', () => {
  const custom = (inputs: CredentialTypeDef['inputs'], injectors: CredentialTypeDef['injectors']): CredentialTypeDef => ({ namespace: null, managed: false, inputs, injectors });

  it('render several files by name, conditionals, booleans as Python prints them, and nested extra vars', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-custom-'));
    dirs.push(dir);
    const type = custom({ fields: [{ id: 'cert', type: 'string', secret: true }, { id: 'key', type: 'string', format: 'ssh_private_key' },
      { id: 'debug', type: 'boolean' }, { id: 'region', type: 'string' }] },
    { file: { 'template.cert': '{{ cert }}', 'template.key': '{{key}}' },
      env: { CERT_PATH: '{{ tower.filename.cert }}', KEY_PATH: '{{tower.filename.key}}', DEBUG: '{{ debug }}',
        REGION: '{% if region %}{{ region }}{% else %}default{% endif %}', QUIET: '{{ not debug }}' },
      extra_vars: { tls: { cert: '{{ tower.filename.cert }}', list: ['{{ region }}', 'fixed'] }, '{{ region }}_enabled': 'yes' } });
    const out = renderInjection(type, { cert: 'CERT', key: 'KEY', region: '' }, dir, { credentialId: 9 });
    const [certFile, keyFile] = out.files;
    expect(fs.readFileSync(certFile, 'utf8')).toBe('CERT');
    expect(fs.readFileSync(keyFile, 'utf8')).toBe('KEY\n');
    expect(out.env).toEqual({ CERT_PATH: certFile, KEY_PATH: keyFile, DEBUG: 'False', REGION: 'default', QUIET: 'True' });
    expect(out.extraVars).toEqual({ tls: { cert: certFile, list: ['', 'fixed'] }, _enabled: 'yes' });
    expect(renderInjection(type, { region: 'eu' }, dir, { credentialId: 10 }).env.REGION).toBe('eu');
  });

  it('skip at run time an env name a stored type may not set', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cred-skip-'));
    dirs.push(dir);
    const out = renderInjection(custom({ fields: [{ id: 'x' }] }, { env: { LD_PRELOAD: '{{ x }}', ANSIBLE_CONFIG: '{{ x }}', OK: '{{ x }}' } }),
      { x: '/tmp/evil.so' }, dir, { credentialId: 11 });
    expect(out.env).toEqual({ OK: '/tmp/evil.so' });
  });
});

describe('the API checks credential types and credentials as AWX does', () => {
  let t: TestEnv;
  let api: ApiCall;
  beforeAll(async () => { ({ t, api } = await useSeededWeb()); });

  it('lists every managed type, unchangeable', async () => {
    const list = await api('GET', '/api/v2/credential_types/?managed=true&page_size=100');
    expect(list.status).toBe(200);
    expect(list.json.count).toBe(managedCredentialTypes.length);
    const aws = list.json.results.find((r: any) => r.namespace === 'aws');
    expect(aws).toMatchObject({ kind: 'cloud', name: 'Amazon Web Services', injectors: {}, managed: true });
    expect((await api('PATCH', `/api/v2/credential_types/${aws.id}/`, { name: 'x' })).status).toBe(400);
    // The types 0002 created are the same rows, brought up to their definitions: ids held by credentials do not move.
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM credential_types WHERE name = 'Machine'`);
    expect(rows[0].n).toBe(1);
  });

  it('refuses injectors that use undefined fields, unsupported Jinja, blocked env names or mixed file syntax', async () => {
    const post = (injectors: unknown, fields: unknown[] = [{ id: 'token', label: 'Token', secret: true }]) =>
      api('POST', '/api/v2/credential_types/', { name: `T${Math.random()}`, kind: 'cloud', inputs: { fields }, injectors });
    const cases: [unknown, RegExp][] = [
      [{ env: { TOKEN: '{{ tokne }}' } }, /env\.TOKEN uses an undefined field \(tokne\)/],
      [{ env: { TOKEN: '{{ token | upper }}' } }, /unsupported expression/],
      [{ env: { TOKEN: '{% for x in y %}{% endfor %}' } }, /unsupported tag/],
      [{ env: { ANSIBLE_LIBRARY: '{{ token }}' } }, /ANSIBLE_LIBRARY may affect Ansible configuration/],
      [{ env: { LD_PRELOAD: '{{ token }}' } }, /LD_PRELOAD is not allowed/],
      [{ file: { template: 'a', 'template.b': 'b' } }, /Must use multi-file syntax/],
      [{ env: { F: '{{ tower.filename }}' } }, /tower\.filename/],
      [{ extra_vars: { ok: '{{ missing }}' } }, /undefined field \(missing\)/],
      [{ shell: {} }, /shell: not an allowed key/],
    ];
    for (const [injectors, message] of cases) {
      const r = await post(injectors);
      expect(r.status, JSON.stringify(injectors)).toBe(400);
      expect(JSON.stringify(r.json.injectors)).toMatch(message);
    }
    expect((await post({}, [{ id: 'tower', label: 'T' }])).json.inputs.join()).toMatch(/reserved/);
    expect((await post({}, [{ id: 'a', label: 'A', type: 'number' }])).status).toBe(400);
    const ok = await post({ file: { 'template.cfg': 'token={{ token }}' }, env: { CFG: '{{ tower.filename.cfg }}' }, extra_vars: { t: '{{ token }}' } });
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
  });

  it('refuses credential inputs the type does not define, or of the wrong type or choice', async () => {
    const types = (await api('GET', '/api/v2/credential_types/?page_size=100')).json.results;
    const id = (ns: string) => types.find((r: any) => r.namespace === ns).id;
    const create = (ns: string, inputs: unknown) => api('POST', '/api/v2/credentials/', { name: `C${Math.random()}`, organization: null, credential_type: id(ns), inputs });
    const extra = await create('aws', { username: 'a', password: 'b', region: 'eu' });
    expect(extra.status).toBe(400);
    expect(extra.json.inputs.region[0]).toMatch(/region/);
    expect((await create('controller', { host: 'h', verify_ssl: 'yes' })).json.inputs.verify_ssl[0]).toMatch(/boolean/);
    expect((await create('hashivault_kv', { url: 'https://v', api_version: 'v3' })).json.inputs.api_version[0]).toMatch(/v3/);
    expect((await create('net', { username: 'u', authorize_password: 'p' })).json.inputs.authorize_password[0]).toMatch(/Authorize/);
    const ok = await create('openstack', { username: 'u', password: 'p', host: 'h', project: 'x', verify_ssl: false });
    expect(ok.status, JSON.stringify(ok.json)).toBe(201);
    expect(ok.json.inputs.password).toBe('$encrypted$');
  });
});
