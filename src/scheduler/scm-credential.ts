import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { loadResolvedInputs } from '../security/credential-plugins/index.js';
import type { SecretBox } from '../security/secrets.js';

/**
 * A project's Source Control credential, handed to git the way AWX's project update does,
 * without the secret ever reaching a command line, a URL or the checkout's .git/config:
 * - username/password: a credential helper (set through GIT_CONFIG_* variables, so no `-c`
 *   argument and nothing written to config) that prints them from environment variables;
 * - SSH private key: written mode 0600 into the update's private data dir (the one part of
 *   the data dir its sandboxed git sees) and used through GIT_SSH_COMMAND (IdentitiesOnly; a
 *   passphrase-protected key needs ssh-agent, which this does not run, so the update fails
 *   with ssh's own message).
 * `cleanup()` removes the key file; `secrets` are for the update's redactor.
 */
export interface ScmGitAuth {
  env: Record<string, string>;
  secrets: string[];
  cleanup(): void;
}

/**
 * The same credential for svn and archive projects: username and password as svn
 * (`--username`, the password on its stdin) and the archive download (HTTP basic auth) take
 * them; never on a command line or in a URL.
 */
export interface ScmAuth extends ScmGitAuth { username: string; password: string }

const HELPER = '!f() { test "$1" = get || exit 0; echo "username=$PLAYSTREAM_SCM_USERNAME"; echo "password=$PLAYSTREAM_SCM_PASSWORD"; }; f';

const NO_AUTH: ScmAuth = { env: {}, secrets: [], cleanup: () => {}, username: '', password: '' };

/** A Source Control credential's inputs, lookups resolved (undefined: none, or another kind). */
async function scmInputs(db: Pick<pg.Pool, 'query'>, secrets: SecretBox, credentialId: number | null):
  Promise<{ str: (k: string) => string; looked: string[] } | undefined> {
  if (!credentialId) return undefined;
  const { rows: [cred] } = await db.query<{ kind: string }>(
    `SELECT t.kind FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = $1`, [credentialId]);
  if (cred?.kind !== 'scm') return undefined;
  const { inputs, looked } = await loadResolvedInputs(db, secrets, credentialId);
  return { str: (k: string) => (typeof inputs[k] === 'string' ? (inputs[k] as string) : ''), looked };
}

export async function scmPasswordAuth(db: Pick<pg.Pool, 'query'>, secrets: SecretBox, credentialId: number | null): Promise<ScmAuth> {
  const found = await scmInputs(db, secrets, credentialId);
  if (!found) return NO_AUTH;
  const { str, looked } = found;
  return { ...NO_AUTH, username: str('username'), password: str('password'),
    secrets: [str('password'), ...looked].filter((v) => v.length >= 2) };
}

export async function scmGitAuth(db: Pick<pg.Pool, 'query'>, secrets: SecretBox, credentialId: number | null,
  privateDir: string): Promise<ScmAuth> {
  const scm = await scmInputs(db, secrets, credentialId);
  if (!scm) return NO_AUTH;
  const { str, looked } = scm;
  const env: Record<string, string> = {};
  const found: string[] = [];
  let key = '';
  if (str('username') || str('password')) {
    // The first (empty) value resets helpers from system or global config, as git documents.
    Object.assign(env, { GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'credential.helper', GIT_CONFIG_VALUE_0: '',
      GIT_CONFIG_KEY_1: 'credential.helper', GIT_CONFIG_VALUE_1: HELPER,
      PLAYSTREAM_SCM_USERNAME: str('username'), PLAYSTREAM_SCM_PASSWORD: str('password') });
    if (str('password')) found.push(str('password'));
  }
  if (str('ssh_key_data')) {
    key = path.join(privateDir, 'scm_ssh_key');
    fs.writeFileSync(key, str('ssh_key_data').trimEnd() + '\n', { mode: 0o600 });
    env.GIT_SSH_COMMAND = `ssh -i '${key.replace(/'/g, `'\\''`)}' -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o BatchMode=yes`;
    found.push(str('ssh_key_data'));
    if (str('ssh_key_unlock')) found.push(str('ssh_key_unlock'));
  }
  found.push(...looked.filter((v) => v.length >= 2));
  return { env, secrets: found, cleanup: () => { if (key) fs.rmSync(key, { force: true }); }, username: str('username'), password: str('password') };
}
