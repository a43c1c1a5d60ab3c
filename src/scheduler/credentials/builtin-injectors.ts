import YAML from 'yaml';
import type { FieldSpec } from '../../db/managed-credential-types.js';

/**
 * The managed credential types whose injection AWX writes as code, not as a template
 * (AWX's credential/injectors.py; net from its RunJob.build_env), each keyed by namespace:
 * what it puts in the environment and which files it writes. `forInventory` is AWX's
 * "INVENTORY_UPDATE_ID in env": gce then leaves out GCE_EMAIL/GCE_PROJECT.
 * Values follow AWX's get_input: a stored value (even ''), else the caller's default, else
 * the field's own default; has() is "stored and neither '' nor null".
 */
export interface CredentialValues {
  get(field: string, fallback?: unknown): unknown;
  has(field: string): boolean;
  /** Stored at all ('' included): AWX's `field in cred.inputs`. */
  stored(field: string): boolean;
}

export interface BuiltinContext {
  values: CredentialValues;
  env: Record<string, string>;
  /** Writes a 0600 file in the private data dir and returns its path. */
  writeFile(label: string, content: string): string;
  forInventory: boolean;
}

export function credentialValues(inputs: Record<string, unknown>, fields: FieldSpec[]): CredentialValues {
  const spec = new Map(fields.map((f) => [f.id, f]));
  return {
    get(field, fallback) {
      if (Object.hasOwn(inputs, field)) return inputs[field];
      if (fallback !== undefined) return fallback;
      return spec.get(field)?.default;
    },
    has: (field) => Object.hasOwn(inputs, field) && inputs[field] !== '' && inputs[field] !== null,
    stored: (field) => Object.hasOwn(inputs, field),
  };
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** The clouds.yaml AWX writes for an OpenStack credential (its _openstack_data). */
export function openstackClouds(values: CredentialValues): { clouds: { devstack: Record<string, unknown> }; ansible?: Record<string, unknown> } {
  const auth: Record<string, unknown> = {
    auth_url: str(values.get('host', '')), username: str(values.get('username', '')),
    password: str(values.get('password', '')), project_name: str(values.get('project', '')),
  };
  if (values.has('project_domain_name')) auth.project_domain_name = str(values.get('project_domain_name', ''));
  if (values.has('domain')) auth.domain_name = str(values.get('domain', ''));
  const devstack: Record<string, unknown> = { auth, verify: values.get('verify_ssl', true) };
  if (values.has('region')) devstack.region_name = str(values.get('region', ''));
  return { clouds: { devstack } };
}

/** PyYAML's safe_dump(default_flow_style=False): keys sorted, block style, lists not indented. */
export function pyYamlDump(data: unknown): string {
  return YAML.stringify(data, { sortMapEntries: true, indentSeq: false, lineWidth: 0 });
}

export const builtinInjectors: Record<string, (c: BuiltinContext) => void> = {
  aws({ values, env }) {
    env.AWS_ACCESS_KEY_ID = str(values.get('username', ''));
    env.AWS_SECRET_ACCESS_KEY = str(values.get('password', ''));
    if (values.has('security_token')) {
      env.AWS_SECURITY_TOKEN = str(values.get('security_token', ''));
      env.AWS_SESSION_TOKEN = env.AWS_SECURITY_TOKEN;
    }
  },

  gce({ values, env, writeFile, forInventory }) {
    const project = str(values.get('project', ''));
    const username = str(values.get('username', ''));
    if (!forInventory) {
      env.GCE_EMAIL = username;
      env.GCE_PROJECT = project;
    }
    const file = writeFile('gce.json', JSON.stringify({ type: 'service_account', private_key: str(values.get('ssh_key_data', '')),
      client_email: username, project_id: project, token_uri: 'https://oauth2.googleapis.com/token' }, null, 2));
    env.GCE_CREDENTIALS_FILE_PATH = file;
    env.GCP_SERVICE_ACCOUNT_FILE = file;
    env.GOOGLE_APPLICATION_CREDENTIALS = file;
    env.GCP_AUTH_KIND = 'serviceaccount';
    env.GCP_PROJECT = project;
    env.GCP_ENV_TYPE = 'tower';
  },

  azure_rm({ values, env }) {
    const client = str(values.get('client', ''));
    const tenant = str(values.get('tenant', ''));
    env.AZURE_SUBSCRIPTION_ID = str(values.get('subscription', ''));
    if (client && tenant) {
      env.AZURE_CLIENT_ID = client;
      env.AZURE_TENANT = tenant;
      env.AZURE_SECRET = str(values.get('secret', ''));
    } else {
      env.AZURE_AD_USER = str(values.get('username', ''));
      env.AZURE_PASSWORD = str(values.get('password', ''));
    }
    if (values.has('cloud_environment')) env.AZURE_CLOUD_ENVIRONMENT = str(values.get('cloud_environment'));
  },

  vmware({ values, env }) {
    env.VMWARE_USER = str(values.get('username', ''));
    env.VMWARE_PASSWORD = str(values.get('password', ''));
    env.VMWARE_HOST = str(values.get('host', ''));
    // AWX's VMWARE_VALIDATE_CERTS setting, False by default; Playstream has no such setting.
    env.VMWARE_VALIDATE_CERTS = 'False';
  },

  openstack({ values, env, writeFile }) {
    env.OS_CLIENT_CONFIG_FILE = writeFile('clouds.yaml', pyYamlDump(openstackClouds(values)));
  },

  kubernetes_bearer_token({ values, env, writeFile }) {
    env.K8S_AUTH_HOST = str(values.get('host', ''));
    env.K8S_AUTH_API_KEY = str(values.get('bearer_token', ''));
    if (values.get('verify_ssl') && values.stored('ssl_ca_cert')) {
      env.K8S_AUTH_VERIFY_SSL = 'True';
      env.K8S_AUTH_SSL_CA_CERT = writeFile('k8s_ca.pem', str(values.get('ssl_ca_cert')));
    } else {
      env.K8S_AUTH_VERIFY_SSL = 'False';
    }
  },

  terraform({ values, env, writeFile }) {
    env.TF_BACKEND_CONFIG_FILE = writeFile('backend.tf', str(values.get('configuration')));
    if (values.stored('gce_credentials')) env.GOOGLE_BACKEND_CREDENTIALS = writeFile('gce_backend.json', str(values.get('gce_credentials')));
  },

  net({ values, env, writeFile }) {
    env.ANSIBLE_NET_USERNAME = str(values.get('username', ''));
    env.ANSIBLE_NET_PASSWORD = str(values.get('password', ''));
    if (values.has('ssh_key_data')) env.ANSIBLE_NET_SSH_KEYFILE = writeFile('net_key', str(values.get('ssh_key_data')).trimEnd() + '\n');
    const authorize = Boolean(values.get('authorize', false));
    env.ANSIBLE_NET_AUTHORIZE = authorize ? '1' : '0';
    if (authorize) env.ANSIBLE_NET_AUTH_PASS = str(values.get('authorize_password', ''));
  },
};
