import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { askedOf } from '../db/credentials.js';
import { PlaystreamError } from '../errors.js';
import { loadResolvedInputs } from '../security/credential-plugins/index.js';
import type { SecretBox } from '../security/secrets.js';
import type { CredentialTypeInjectors, CredentialTypeInputs } from '../db/managed-credential-types.js';
import { renderInjection } from './credentials/render-injection.js';

/**
 * Credentials injected as Ansible expects them, into one job's private data dir:
 * - Machine: `-u`, an SSH key file (mode 0600) with `--private-key`, become method/user,
 *   and the SSH/become passwords answered at the prompt through runner's env/passwords;
 * - Vault: `--vault-id id@prompt` (or `--ask-vault-pass`) answered the same way;
 * - every other type, managed or custom: credentials/render-injection.ts (AWX's builtin
 *   injectors for aws, gce, azure_rm, vmware, openstack, kubernetes, terraform, net; the
 *   `env`, `extra_vars` and `file` templates of the others and of custom types).
 * Every secret value is collected so the runner can redact it from job_args, job_env and
 * stdout. Files written here live in the private data dir, removed when the job ends.
 * An input "ASK" takes the password given at launch (passwordsNeeded, db/credentials.ts).
 * An input with an input source is looked up now (security/credential-plugins), used, and
 * redacted like a secret whatever its field; a Machine credential's signed SSH certificate
 * (`ssh_public_key_data`) is written beside its key as `<key>-cert.pub`, where ssh finds it.
 * A username, become method or become user carrying Jinja is refused, as AWX refuses it:
 * Ansible would template it on the command line.
 */
export interface Injection {
  args: string[];
  env: Record<string, string>;
  extraVars: Record<string, unknown>;
  passwords: Record<string, string>;
  secrets: string[];
}

interface CredRow { id: number; kind: string; namespace: string | null; managed: boolean; inputs_spec: CredentialTypeInputs;
  injectors: CredentialTypeInjectors }

export async function injectCredentials(db: Pick<pg.Pool, 'query'>, secrets: SecretBox, credentialIds: number[],
  privateDataDir: string, launchPasswords: Record<string, string> = {}, opts: { forInventory?: boolean } = {}): Promise<Injection> {
  const out: Injection = { args: [], env: {}, extraVars: {}, passwords: {}, secrets: [] };
  if (!credentialIds.length) return out;
  const { rows } = await db.query<CredRow>(
    `SELECT c.id, t.kind, t.namespace, t.managed, t.inputs AS inputs_spec, t.injectors FROM credentials c
       JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = ANY($1) ORDER BY c.id`, [credentialIds]);
  for (const cred of rows) {
    const { inputs, looked } = await loadResolvedInputs(db, secrets, cred.id);
    for (const v of looked) if (v.length >= 2) out.secrets.push(v);
    // "ASK" inputs take the password given at launch; one not given stops the job (a schedule cannot answer).
    for (const [name, field] of askedOf(cred.kind, inputs)) {
      if (!launchPasswords[name]) throw new PlaystreamError('PS_ERR_VALIDATION', `Credential ${cred.id} asks for ${name} at launch and none was given.`);
      inputs[field] = launchPasswords[name];
    }
    for (const f of cred.inputs_spec.fields ?? []) {
      const v = inputs[f.id];
      if (f.secret && typeof v === 'string' && v.length >= 2) out.secrets.push(v);
    }
    const str = (k: string) => (typeof inputs[k] === 'string' ? (inputs[k] as string) : '');
    if (cred.kind === 'ssh') {
      if (str('username')) out.args.push('-u', refuseInlineJinja(str('username')));
      if (str('ssh_key_data')) {
        const keyFile = path.join(privateDataDir, `credential_${cred.id}_key`);
        fs.writeFileSync(keyFile, str('ssh_key_data').trimEnd() + '\n', { mode: 0o600 });
        out.args.push('--private-key', keyFile);
        if (str('ssh_public_key_data')) fs.writeFileSync(`${keyFile}-cert.pub`, str('ssh_public_key_data').trimEnd() + '\n', { mode: 0o600 });
        if (str('ssh_key_unlock')) out.passwords['^Enter passphrase for .*:\\s*?$'] = str('ssh_key_unlock');
      }
      if (str('password')) {
        out.args.push('--ask-pass');
        out.passwords['^SSH [pP]assword:\\s*?$'] = str('password');
      }
      if (str('become_method')) out.args.push('--become-method', refuseInlineJinja(str('become_method')));
      if (str('become_username')) out.args.push('--become-user', refuseInlineJinja(str('become_username')));
      if (str('become_password')) {
        out.args.push('--ask-become-pass');
        out.passwords['^BECOME password.*:\\s*?$'] = str('become_password');
      }
    } else if (cred.kind === 'vault') {
      const id = str('vault_id');
      if (id) {
        out.args.push('--vault-id', `${id}@prompt`);
        out.passwords[`^Vault password \\(${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\):\\s*?$`] = str('vault_password');
      } else {
        out.args.push('--ask-vault-pass');
        out.passwords['^Vault password:\\s*?$'] = str('vault_password');
      }
    }
    const rendered = renderInjection({ namespace: cred.namespace, managed: cred.managed, inputs: cred.inputs_spec, injectors: cred.injectors },
      inputs, privateDataDir, { credentialId: cred.id, forInventory: opts.forInventory });
    Object.assign(out.env, rendered.env);
    Object.assign(out.extraVars, rendered.extraVars);
  }
  return out;
}

/** AWX's sanitize_jinja: a value Ansible would template is refused with AWX's message. */
export function refuseInlineJinja(value: string): string {
  if (/\{\{[^}]+\}\}/.test(value) || /\{%[^%]+%\}/.test(value)) {
    throw new PlaystreamError('PS_ERR_VALIDATION', 'Inline Jinja variables are not allowed.');
  }
  return value;
}
