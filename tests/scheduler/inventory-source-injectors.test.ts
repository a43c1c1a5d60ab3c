import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { managedType, type FieldSpec } from '../../src/db/managed-credential-types.js';
import { cloudSources, writeCloudSourceFiles } from '../../src/scheduler/inventory-sources/cloud-sources.js';

/**
 * For each cloud inventory source, what an update lays down — the plugin file, the
 * environment and the credential files — compared with AWX's reference output for the same
 * inputs (awx/main/tests/data/inventory/plugins/<source>/env.json and files/, produced by its
 * test_inventory_source_injectors.py). The inputs are made up the way that test makes them
 * up: every string field "fooo", a `host` "https://foo.invalid", a private key, booleans
 * false, controller without its oauth_token; source_vars `base_source_var: value_of_var`
 * with `plugin:` set to the FQCN (which AWX replaces). In the expected values, a path the
 * update wrote reads `{{ file_reference }}` (env) / `{{ file_reference_0 }}` (plugin file)
 * and the key reads `{{private_key}}`, as in AWX's reference files.
 */
const PRIVATE_KEY = '-----BEGIN ENCRYPTED PRIVATE KEY-----MIIBpjBABgkqhkiG9w0BBQ0wMzAbBgkqhkiG9w0BBQwwDgQI5yNCu9T5SnsCAggA-----END ENCRYPTED PRIVATE KEY-----';

function fakeInputs(namespace: string): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const f of managedType(namespace)!.inputs.fields as FieldSpec[]) {
    if (f.type === 'boolean') inputs[f.id] = false;
    else if (f.format === 'ssh_private_key') inputs[f.id] = PRIVATE_KEY;
    else inputs[f.id] = f.id === 'host' ? 'https://foo.invalid' : 'fooo';
  }
  if (namespace === 'controller') delete inputs.oauth_token;
  return inputs;
}

interface Expected { env: Record<string, string>; files?: Record<string, string>; plugin: string }

const withPlugin = (plugin: string) => `base_source_var: value_of_var\nplugin: ${plugin}\n`;

const EXPECTED: Record<string, Expected> = {
  azure_rm: { plugin: withPlugin('azure_rm'), env: { ANSIBLE_JINJA2_NATIVE: 'True', AZURE_CLIENT_ID: 'fooo', AZURE_CLOUD_ENVIRONMENT: 'fooo',
    AZURE_SECRET: 'fooo', AZURE_SUBSCRIPTION_ID: 'fooo', AZURE_TENANT: 'fooo' } },
  controller: { plugin: withPlugin('tower'), env: { TOWER_HOST: 'https://foo.invalid', TOWER_PASSWORD: 'fooo', TOWER_USERNAME: 'fooo',
    TOWER_OAUTH_TOKEN: '', TOWER_VERIFY_SSL: 'False', CONTROLLER_HOST: 'https://foo.invalid', CONTROLLER_PASSWORD: 'fooo',
    CONTROLLER_USERNAME: 'fooo', CONTROLLER_OAUTH_TOKEN: '', CONTROLLER_VERIFY_SSL: 'False' } },
  ec2: { plugin: withPlugin('aws_ec2'), env: { ANSIBLE_JINJA2_NATIVE: 'True', AWS_ACCESS_KEY_ID: 'fooo', AWS_SECRET_ACCESS_KEY: 'fooo',
    AWS_SECURITY_TOKEN: 'fooo', AWS_SESSION_TOKEN: 'fooo' } },
  gce: {
    plugin: 'base_source_var: value_of_var\nplugin: gcp_compute\nprojects:\n- fooo\n',
    env: { ANSIBLE_JINJA2_NATIVE: 'True', GCE_CREDENTIALS_FILE_PATH: '{{ file_reference }}', GOOGLE_APPLICATION_CREDENTIALS: '{{ file_reference }}',
      GCP_AUTH_KIND: 'serviceaccount', GCP_ENV_TYPE: 'tower', GCP_PROJECT: 'fooo', GCP_SERVICE_ACCOUNT_FILE: '{{ file_reference }}' },
    files: { file_reference: '{\n  "type": "service_account",\n  "private_key": "{{private_key}}",\n  "client_email": "fooo",\n'
      + '  "project_id": "fooo",\n  "token_uri": "https://oauth2.googleapis.com/token"\n}' },
  },
  insights: { plugin: withPlugin('redhatinsights.insights.insights'), env: { INSIGHTS_USER: 'fooo', INSIGHTS_PASSWORD: 'fooo' } },
  openstack: {
    plugin: withPlugin('openstack'),
    env: { OS_CLIENT_CONFIG_FILE: '{{ file_reference }}' },
    files: { file_reference: 'clouds:\n  devstack:\n    auth:\n      auth_url: https://foo.invalid\n      domain_name: fooo\n      password: fooo\n'
      + '      project_domain_name: fooo\n      project_name: fooo\n      username: fooo\n    private: true\n    region_name: fooo\n    verify: false\n' },
  },
  rhv: {
    plugin: withPlugin('ovirt.ovirt.ovirt'),
    env: { OVIRT_INI_PATH: '{{ file_reference }}', OVIRT_PASSWORD: 'fooo', OVIRT_URL: 'https://foo.invalid', OVIRT_USERNAME: 'fooo' },
    files: { file_reference: '[ovirt]\novirt_url=https://foo.invalid\novirt_username=fooo\novirt_password=fooo\novirt_ca_file=fooo' },
  },
  satellite6: { plugin: withPlugin('theforeman.foreman.foreman'), env: { FOREMAN_PASSWORD: 'fooo', FOREMAN_SERVER: 'https://foo.invalid', FOREMAN_USER: 'fooo' } },
  terraform: {
    plugin: 'backend_config_files: {{ file_reference_0 }}\nbase_source_var: value_of_var\nplugin: cloud.terraform.terraform_state\n',
    env: { GOOGLE_BACKEND_CREDENTIALS: '{{ file_reference }}' },
    files: { file_reference: 'fooo', file_reference_0: 'fooo' },
  },
  vmware: { plugin: withPlugin('vmware_vm_inventory'), env: { VMWARE_HOST: 'https://foo.invalid', VMWARE_PASSWORD: 'fooo', VMWARE_USER: 'fooo',
    VMWARE_VALIDATE_CERTS: 'False' } },
};

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

describe('cloud inventory sources lay down what AWX\'s injectors lay down', () => {
  it('covers every cloud source AWX offers', () => {
    expect(Object.keys(cloudSources).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [source, expected] of Object.entries(EXPECTED)) {
    it(source, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `inv-${source}-`));
      dirs.push(dir);
      const spec = cloudSources[source];
      const type = managedType(spec.credentialNamespace)!;
      const cred = { id: 7, namespace: type.namespace, managed: true, inputs: type.inputs, injectors: type.injectors, values: fakeInputs(type.namespace) };
      const out = writeCloudSourceFiles(source, { base_source_var: 'value_of_var', plugin: `${spec.collection}.${spec.plugin}` }, cred, dir);

      expect(path.basename(out.pluginFile)).toBe(`${spec.plugin}.yml`);
      expect(out.set.ANSIBLE_INVENTORY_ENABLED).toBe('auto');
      // Paths become aliases: those the environment names first, then those only the plugin file names.
      const alias = new Map<string, string>();
      for (const v of Object.values(out.env)) if (v.startsWith(dir) && !alias.has(v)) alias.set(v, alias.size ? `file_reference_${alias.size - 1}` : 'file_reference');
      let plugin = out.pluginContent;
      for (const file of fs.readdirSync(dir).map((f) => path.join(dir, f))) {
        if (!plugin.includes(file)) continue;
        if (!alias.has(file)) alias.set(file, alias.has(file) ? alias.get(file)! : (alias.size ? `file_reference_${alias.size - 1}` : 'file_reference'));
        plugin = plugin.replace(file, `{{ ${alias.get(file)} }}`);
      }
      const env: Record<string, string> = Object.fromEntries(Object.entries({ ...out.env, ...out.set })
        .filter(([k]) => k !== 'ANSIBLE_INVENTORY_ENABLED')
        .map(([k, v]) => [k, alias.has(v) ? `{{ ${alias.get(v)} }}` : v]));
      expect(env).toEqual(expected.env);
      expect(plugin).toBe(expected.plugin);
      expect(fs.readFileSync(out.pluginFile, 'utf8')).toBe(out.pluginContent);
      const files = Object.fromEntries([...alias].map(([file, name]) => [name, fs.readFileSync(file, 'utf8').replace(PRIVATE_KEY, '{{private_key}}')]));
      expect(files).toEqual(expected.files ?? {});
      for (const file of alias.keys()) expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    });
  }

  it('keeps source_vars over the defaults AWX would add (gce projects, openstack private and ansible options)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inv-vars-'));
    dirs.push(dir);
    const gce = managedType('gce')!;
    const g = writeCloudSourceFiles('gce', { projects: ['mine'], zones: ['europe-west1-b'] },
      { id: 1, namespace: 'gce', managed: true, inputs: gce.inputs, injectors: gce.injectors, values: fakeInputs('gce') }, dir);
    expect(g.pluginContent).toBe('plugin: gcp_compute\nprojects:\n- mine\nzones:\n- europe-west1-b\n');
    const os_ = managedType('openstack')!;
    const o = writeCloudSourceFiles('openstack', { private: false, expand_hostvars: true },
      { id: 2, namespace: 'openstack', managed: true, inputs: os_.inputs, injectors: os_.injectors, values: { username: 'u', password: 'p', host: 'h', project: 'x' } }, dir);
    expect(fs.readFileSync(o.env.OS_CLIENT_CONFIG_FILE, 'utf8')).toBe('ansible:\n  expand_hostvars: true\n  fail_on_errors: true\n  use_hostnames: true\n'
      + 'clouds:\n  devstack:\n    auth:\n      auth_url: h\n      password: p\n      project_name: x\n      username: u\n    private: false\n    verify: true\n');
  });
});
