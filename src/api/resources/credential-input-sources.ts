import { requireLinks } from '../access.js';
import { defineResource, type Queryable, type Row } from '../engine/resource.js';
import { badRequest } from '../http.js';
import { lookupBackend } from '../../security/credential-plugins/index.js';
import { base, fk, text } from './common.js';

/**
 * AWX's credential input sources: field `input_field_name` of `target_credential` is filled,
 * each time a job uses it, by the external lookup credential `source_credential` with
 * `metadata` (security/credential-plugins). Access as AWX's CredentialInputSourceAccess:
 * reading follows the target credential; creating, changing or deleting needs admin of the
 * target and `use` of the source (access.ts LINKS), so nobody reads a secret through a lookup
 * credential they may not use. Validation as AWX's serializer and model: the source is an
 * external credential of a type Playstream can look up, the target is not external, the field
 * is one of the target type's fields, and the metadata is the source type's metadata: its
 * required fields present, no field it does not define.
 */
const TARGET_ORG = '(SELECT c.organization_id FROM credentials c WHERE c.id = t.target_credential_id)';

export const credentialInputSources = defineResource({
  key: 'credential_input_sources', type: 'credential_input_source', table: 'credential_input_sources',
  fields: {
    ...base,
    description: text({ maxLength: 10_000 }),
    input_field_name: text({ required: true, maxLength: 1024 }),
    metadata: { type: 'json', writable: true },
    target_credential: fk('credentials', { required: true }),
    source_credential: fk('credentials', { required: true }),
  },
  search: ['description', 'input_field_name'],
  summary: ['id', 'input_field_name'],
  access: {
    roleType: 'credential', idExpr: 't.target_credential_id', orgExpr: TARGET_ORG,
    canCreate: async (ctx, g, d) => {
      const { rows } = await ctx.pool.query('SELECT organization_id FROM credentials WHERE id = $1', [d.target_credential]);
      return g.perms('credential', d.target_credential as number, rows[0]?.organization_id).has('admin');
    },
  },
  related: (r) => ({ activity_stream: `/api/v2/credential_input_sources/${r.id}/activity_stream/` }),
  prepare: async (ctx, _db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'credential_input_source', data, existing);
    if (!existing && data.metadata === undefined) data.metadata = {};
    await checkInputSource(ctx.pool, { ...existing, ...data });
    return data;
  },
});

async function credentialType(db: Queryable, id: number): Promise<{ kind: string; namespace: string | null; inputs: Record<string, any> } | undefined> {
  const { rows } = await db.query(
    'SELECT t.kind, t.namespace, t.inputs FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = $1', [id]);
  return rows[0];
}

async function checkInputSource(db: Queryable, d: Row): Promise<void> {
  const source = await credentialType(db, Number(d.source_credential));
  const target = await credentialType(db, Number(d.target_credential));
  if (!source || !target) return; // validateWrite has named the missing one
  if (source.kind !== 'external') throw badRequest({ source_credential: ['Source must be an external credential'] });
  if (!lookupBackend(source.namespace)) throw badRequest({ source_credential: [`Lookups of type ${source.namespace} are not supported by Playstream.`] });
  if (target.kind === 'external') throw badRequest({ target_credential: ['Target must be a non-external credential'] });
  const fields = (target.inputs.fields ?? []).map((f: { id: string }) => f.id) as string[];
  if (!fields.includes(String(d.input_field_name))) {
    throw badRequest({ input_field_name: [`Input field must be defined on target credential (options are ${fields.join(', ')}).`] });
  }
  const metadata = d.metadata;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw badRequest({ metadata: ['Must be an object.'] });
  const defined = (source.inputs.metadata ?? []).map((f: { id: string }) => f.id) as string[];
  const unknown = Object.keys(metadata).filter((k) => !defined.includes(k));
  if (unknown.length) throw badRequest({ metadata: [`Additional properties are not allowed (${unknown.map((k) => `'${k}'`).join(', ')}); the options are ${defined.join(', ')}.`] });
  const errors: Record<string, string[]> = {};
  for (const k of (source.inputs.required ?? []) as string[]) {
    const v = (metadata as Row)[k];
    if (defined.includes(k) && (v === undefined || v === null || v === '')) errors[k] = ['required for this lookup'];
  }
  for (const [k, v] of Object.entries(metadata as Row)) if (typeof v !== 'string') errors[k] = ['Must be a string.'];
  if (Object.keys(errors).length) throw badRequest({ metadata: errors });
}
