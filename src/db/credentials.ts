import type pg from 'pg';
import type { SecretBox } from '../security/secrets.js';

/**
 * The one place credential inputs are written: fields the credential type marks
 * `secret: true` are encrypted before they reach Postgres.
 */
type Queryable = Pick<pg.Pool, 'query'>;

export interface NewCredential {
  name: string;
  description?: string;
  organization_id: number | null;
  credential_type_id: number;
  inputs: Record<string, unknown>;
}

export async function secretFieldsOf(db: Queryable, credentialTypeId: number): Promise<string[]> {
  const { rows } = await db.query<{ inputs: { fields?: { id: string; secret?: boolean }[] } }>(
    'SELECT inputs FROM credential_types WHERE id = $1', [credentialTypeId]);
  return (rows[0]?.inputs.fields ?? []).filter((f) => f.secret).map((f) => f.id);
}

export async function insertCredential(db: Queryable, secrets: SecretBox, c: NewCredential): Promise<number> {
  const inputs = secrets.encryptFields(c.inputs, await secretFieldsOf(db, c.credential_type_id));
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO credentials (name, description, organization_id, credential_type_id, inputs)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [c.name, c.description ?? '', c.organization_id, c.credential_type_id, inputs]);
  return rows[0].id;
}

/** Decrypted inputs, for the runner only: never returned by the API or logged. */
export async function loadCredentialInputs(db: Queryable, secrets: SecretBox, id: number): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ inputs: Record<string, unknown> }>('SELECT inputs FROM credentials WHERE id = $1', [id]);
  return rows[0] ? secrets.decryptFields(rows[0].inputs) : {};
}

/**
 * Replaces a credential's inputs. A secret field sent as "$encrypted$" (what the API shows)
 * keeps its stored value, so a client that read the credential can send it back unchanged.
 */
export async function updateCredentialInputs(db: Queryable, secrets: SecretBox, id: number, credentialTypeId: number,
  inputs: Record<string, unknown>): Promise<void> {
  const { rows } = await db.query<{ inputs: Record<string, unknown> }>('SELECT inputs FROM credentials WHERE id = $1', [id]);
  const stored = rows[0]?.inputs ?? {};
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) merged[k] = v === '$encrypted$' ? stored[k] : v;
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  const encrypted = secrets.encryptFields(merged, await secretFieldsOf(db, credentialTypeId));
  await db.query('UPDATE credentials SET inputs = $2, credential_type_id = $3, modified = now() WHERE id = $1',
    [id, encrypted, credentialTypeId]);
}

/** The credentials a job template runs with (job_template_credentials), by id. */
export async function templateCredentialIds(db: Queryable, templateId: number): Promise<number[]> {
  const { rows } = await db.query<{ credential_id: string }>(
    'SELECT credential_id FROM job_template_credentials WHERE job_template_id = $1 ORDER BY credential_id', [templateId]);
  return rows.map((r) => Number(r.credential_id));
}

/**
 * The passwords a launch must give for credentials whose inputs are "ASK", named as AWX
 * names them: ssh_password, become_password, ssh_key_unlock (Machine), vault_password or
 * vault_password.<vault_id> (Vault).
 */
export async function passwordsNeeded(db: Queryable, secrets: SecretBox, credentialIds: number[]): Promise<string[]> {
  if (!credentialIds.length) return [];
  const { rows } = await db.query<{ id: number; kind: string }>(
    'SELECT c.id, t.kind FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = ANY($1) ORDER BY c.id', [credentialIds]);
  const needed: string[] = [];
  for (const c of rows) {
    const inputs = await loadCredentialInputs(db, secrets, c.id);
    needed.push(...askedOf(c.kind, inputs).map(([name]) => name));
  }
  return needed;
}

/** The "ASK" inputs of one credential: [the launch password's name, the input it fills]. */
export function askedOf(kind: string, inputs: Record<string, unknown>): [string, string][] {
  const ask = (field: string) => inputs[field] === 'ASK';
  if (kind === 'ssh') {
    return ([['ssh_password', 'password'], ['become_password', 'become_password'], ['ssh_key_unlock', 'ssh_key_unlock']] as [string, string][])
      .filter(([, field]) => ask(field));
  }
  if (kind === 'vault' && ask('vault_password')) return [[inputs.vault_id ? `vault_password.${inputs.vault_id}` : 'vault_password', 'vault_password']];
  return [];
}
