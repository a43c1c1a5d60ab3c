import type pg from 'pg';
import { loadCredentialInputs } from '../../db/credentials.js';
import { PlaystreamError } from '../../errors.js';
import type { SecretBox } from '../secrets.js';
import { hashivaultKv, hashivaultSsh } from './hashivault.js';

/**
 * External lookup credentials (credential types of kind `external`) by their type's namespace,
 * as AWX's credential plugins: a backend takes the lookup credential's inputs with the input
 * source's metadata over them and answers one value. Only the HashiCorp Vault lookups are
 * implemented; any other external type is refused where it would be used (input source
 * create, test/, job start) with its name.
 */
type Backend = (inputs: Record<string, unknown>) => Promise<string>;

const BACKENDS: Record<string, Backend> = {
  hashivault_kv: hashivaultKv,
  hashivault_ssh: hashivaultSsh,
};

type Queryable = Pick<pg.Pool, 'query'>;

export function lookupBackend(namespace: string | null | undefined): Backend | undefined {
  return namespace ? BACKENDS[namespace] : undefined;
}

/** Inputs with the type's field defaults under them (a credential stores only what was sent). */
export function withDefaults(spec: { fields?: { id: string; default?: unknown }[] }, inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of spec.fields ?? []) if (f.default !== undefined) out[f.id] = f.default;
  return { ...out, ...inputs };
}

/** Runs one lookup with `sourceInputs` (decrypted) and `metadata`: the value, or PS_ERR_CREDENTIAL_LOOKUP. */
export async function runLookup(namespace: string | null, spec: Record<string, any>, sourceInputs: Record<string, unknown>,
  metadata: Record<string, unknown>): Promise<string> {
  const backend = lookupBackend(namespace);
  if (!backend) throw new PlaystreamError('PS_ERR_CREDENTIAL_LOOKUP', `external credential type ${namespace ?? '(none)'} is not supported by Playstream`);
  return backend({ ...withDefaults(spec, sourceInputs), ...metadata });
}

/**
 * A credential's inputs as a job uses them: decrypted, with each field that has an input
 * source looked up now. `looked` are the values looked up, for the job's redactor; nothing
 * looked up is written anywhere by this function.
 */
export async function loadResolvedInputs(db: Queryable, secrets: SecretBox, credentialId: number): Promise<{ inputs: Record<string, unknown>; looked: string[] }> {
  const inputs = await loadCredentialInputs(db, secrets, credentialId);
  const { rows } = await db.query<{ input_field_name: string; metadata: Record<string, unknown>; source_id: number; namespace: string | null; spec: Record<string, any> }>(
    `SELECT s.input_field_name, s.metadata, s.source_credential_id AS source_id, t.namespace, t.inputs AS spec
       FROM credential_input_sources s JOIN credentials c ON c.id = s.source_credential_id JOIN credential_types t ON t.id = c.credential_type_id
      WHERE s.target_credential_id = $1 ORDER BY s.id`, [credentialId]);
  const looked: string[] = [];
  for (const r of rows) {
    try {
      const value = await runLookup(r.namespace, r.spec, await loadCredentialInputs(db, secrets, Number(r.source_id)), r.metadata ?? {});
      inputs[r.input_field_name] = value;
      looked.push(value);
    } catch (err) {
      throw new PlaystreamError('PS_ERR_CREDENTIAL_LOOKUP',
        `Credential ${credentialId}: looking up ${r.input_field_name} from credential ${r.source_id} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return { inputs, looked };
}
