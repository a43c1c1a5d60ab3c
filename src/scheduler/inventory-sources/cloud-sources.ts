import fs from 'node:fs';
import path from 'node:path';
import type { CredentialTypeInjectors, CredentialTypeInputs } from '../../db/managed-credential-types.js';
import { credentialValues, openstackClouds, pyYamlDump } from '../credentials/builtin-injectors.js';
import { renderInjection } from '../credentials/render-injection.js';

/**
 * The cloud inventory sources AWX offers, one row each (AWX's PluginFileInjector classes and
 * its <SOURCE>_ENABLED_VAR / _ENABLED_VALUE / _INSTANCE_ID_VAR / _EXCLUDE_EMPTY_GROUPS
 * settings), and what an update of one lays down before `ansible-inventory` runs:
 * - `<plugin>.yml` in the private data dir's inventory/: the source's source_vars with `plugin:`
 *   set (the short name, or namespace.collection.name where AWX uses the FQCN), gce's
 *   `projects` and terraform's `backend_config_files` added as AWX adds them;
 * - the credential's injection: `managed` sources run the builtin injector of the credential
 *   (aws for ec2, gce, azure_rm, vmware), `template` sources render the type's templates (rhv,
 *   controller, insights), the others their own (openstack's clouds.yaml with `private` and
 *   the `ansible` options, satellite6's FOREMAN_*, terraform's GCP backend credentials);
 * - ANSIBLE_INVENTORY_ENABLED=auto, and ANSIBLE_JINJA2_NATIVE=True for ec2, gce and azure_rm.
 */
export interface CloudSource {
  plugin: string;
  collection: string;
  useFqcn: boolean;
  base: 'managed' | 'template' | null;
  credentialNamespace: string;
  /** ec2 may run without a credential (an instance role); the others need one. */
  credentialOptional?: boolean;
  jinja2Native?: boolean;
  enabledVar?: string;
  enabledValue?: string;
  instanceIdVar?: string;
  excludeEmptyGroups: boolean;
}

export const cloudSources: Record<string, CloudSource> = {
  azure_rm: { plugin: 'azure_rm', collection: 'azure.azcollection', useFqcn: false, base: 'managed', credentialNamespace: 'azure_rm',
    jinja2Native: true, enabledVar: 'powerstate', enabledValue: 'running', instanceIdVar: 'id', excludeEmptyGroups: true },
  ec2: { plugin: 'aws_ec2', collection: 'amazon.aws', useFqcn: false, base: 'managed', credentialNamespace: 'aws', credentialOptional: true,
    jinja2Native: true, enabledVar: 'ec2_state', enabledValue: 'running', instanceIdVar: 'instance_id', excludeEmptyGroups: true },
  gce: { plugin: 'gcp_compute', collection: 'google.cloud', useFqcn: false, base: 'managed', credentialNamespace: 'gce',
    jinja2Native: true, enabledVar: 'status', enabledValue: 'running', instanceIdVar: 'gce_id', excludeEmptyGroups: true },
  vmware: { plugin: 'vmware_vm_inventory', collection: 'community.vmware', useFqcn: false, base: 'managed', credentialNamespace: 'vmware',
    enabledVar: 'guest.gueststate', enabledValue: 'running', instanceIdVar: 'config.instanceUuid, config.instanceuuid', excludeEmptyGroups: true },
  openstack: { plugin: 'openstack', collection: 'openstack.cloud', useFqcn: false, base: null, credentialNamespace: 'openstack',
    enabledVar: 'status', enabledValue: 'ACTIVE', instanceIdVar: 'openstack.id', excludeEmptyGroups: true },
  rhv: { plugin: 'ovirt', collection: 'ovirt.ovirt', useFqcn: true, base: 'template', credentialNamespace: 'rhv',
    enabledVar: 'status', enabledValue: 'up', instanceIdVar: 'id', excludeEmptyGroups: true },
  satellite6: { plugin: 'foreman', collection: 'theforeman.foreman', useFqcn: true, base: null, credentialNamespace: 'satellite6',
    enabledVar: 'foreman_enabled,foreman.enabled', enabledValue: 'True', instanceIdVar: 'foreman_id,foreman.id', excludeEmptyGroups: true },
  controller: { plugin: 'tower', collection: 'awx.awx', useFqcn: false, base: 'template', credentialNamespace: 'controller',
    enabledVar: 'remote_tower_enabled', enabledValue: 'true', instanceIdVar: 'remote_tower_id', excludeEmptyGroups: true },
  insights: { plugin: 'insights', collection: 'redhatinsights.insights', useFqcn: true, base: 'template', credentialNamespace: 'insights',
    instanceIdVar: 'insights_id', excludeEmptyGroups: false },
  terraform: { plugin: 'terraform_state', collection: 'cloud.terraform', useFqcn: true, base: null, credentialNamespace: 'terraform',
    instanceIdVar: 'id', excludeEmptyGroups: true },
};

export interface SourceCredential {
  id: number;
  namespace: string | null;
  managed: boolean;
  inputs: CredentialTypeInputs;
  injectors: CredentialTypeInjectors;
  values: Record<string, unknown>;
}

export interface CloudSourceFiles {
  /** The plugin configuration ansible-inventory reads (`-i`). */
  pluginFile: string;
  pluginContent: string;
  /** From the credential: the update's `injected` environment. */
  env: Record<string, string>;
  /** Playstream's own settings for ansible-inventory (ANSIBLE_*): the sandbox's `set`. */
  set: Record<string, string>;
}

export function writeCloudSourceFiles(source: string, sourceVars: Record<string, unknown>, cred: SourceCredential | null,
  privateDataDir: string): CloudSourceFiles {
  const spec = cloudSources[source];
  const plugin: Record<string, unknown> = { ...sourceVars, plugin: spec.useFqcn ? `${spec.collection}.${spec.plugin}` : spec.plugin };
  const env: Record<string, string> = {};
  const values = cred ? credentialValues(cred.values, cred.inputs.fields ?? []) : null;
  const writeFile = (label: string, content: string) => {
    const file = path.join(privateDataDir, `credential_${cred!.id}_${label}`);
    fs.writeFileSync(file, content, { mode: 0o600 });
    return file;
  };
  if (cred && spec.base) {
    Object.assign(env, renderInjection(cred, cred.values, privateDataDir, { credentialId: cred.id, forInventory: true }).env);
  }
  if (cred && values) {
    if (source === 'gce' && !Object.hasOwn(sourceVars, 'projects')) plugin.projects = [String(values.get('project', ''))];
    if (source === 'openstack') {
      const clouds = openstackClouds(values);
      clouds.clouds.devstack.private = Object.hasOwn(sourceVars, 'private') ? sourceVars.private : true;
      const options: Record<string, unknown> = { use_hostnames: true, expand_hostvars: false, fail_on_errors: true };
      const given = Object.keys(options).filter((k) => Object.hasOwn(sourceVars, k));
      for (const k of given) options[k] = sourceVars[k];
      if (given.length) clouds.ansible = options;
      env.OS_CLIENT_CONFIG_FILE = writeFile('clouds.yaml', pyYamlDump(clouds));
    }
    if (source === 'satellite6') {
      env.FOREMAN_SERVER = String(values.get('host', ''));
      env.FOREMAN_USER = String(values.get('username', ''));
      env.FOREMAN_PASSWORD = String(values.get('password', ''));
    }
    if (source === 'terraform') {
      const config = values.get('configuration');
      if (config) plugin.backend_config_files = writeFile('backend.tf', String(config));
      const gcp = values.get('gce_credentials');
      if (gcp) env.GOOGLE_BACKEND_CREDENTIALS = writeFile('gce_backend.json', String(gcp));
    }
  }
  const dir = path.join(privateDataDir, 'inventory');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pluginFile = path.join(dir, `${spec.plugin}.yml`);
  const pluginContent = pyYamlDump(plugin);
  fs.writeFileSync(pluginFile, pluginContent, { mode: 0o600 });
  const set: Record<string, string> = { ANSIBLE_INVENTORY_ENABLED: 'auto' };
  if (spec.jinja2Native) set.ANSIBLE_JINJA2_NATIVE = 'True';
  return { pluginFile, pluginContent, env, set };
}

/**
 * AWX's cloud_credential_validation: the credential a cloud source needs (of the matching
 * namespace; ec2 may go without), and the kinds an scm source may not take. A message for
 * a 400 on `credential`, or null.
 */
export function sourceCredentialProblem(source: string, cred: { namespace: string | null; kind: string } | null): string | null {
  const spec = cloudSources[source];
  if (spec) {
    if (cred && cred.namespace !== spec.credentialNamespace) {
      return `Cloud-based inventory sources (such as ${source}) require credentials for the matching cloud service.`;
    }
    if (!cred && !spec.credentialOptional) return 'Credential is required for a cloud source.';
  }
  if (source === 'scm' && cred && ['insights', 'vault'].includes(cred.kind)) {
    return 'Credentials of type insights and vault are disallowed for scm inventory sources.';
  }
  return null;
}
