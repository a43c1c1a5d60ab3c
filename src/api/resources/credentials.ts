import { insertCredential, secretFieldsOf, updateCredentialInputs } from '../../db/credentials.js';
import type { CredentialTypeInputs } from '../../db/managed-credential-types.js';
import { credentialInputsErrors, credentialTypeInjectorsErrors, credentialTypeInputsErrors } from '../../scheduler/credentials/credential-type-rules.js';
import { maskSecretFields, maskSecrets } from '../../security/secrets.js';
import { requireLinks, requireUserAdmin } from '../access.js';
import { badRequest } from '../http.js';
import { defineResource, type Row } from '../engine/resource.js';
import { fk, grantRole, named, ro } from './common.js';

/**
 * Credential types (the managed ones AWX ships, defined in db/managed-credential-types.json;
 * custom ones with `inputs`/`injectors`, checked as AWX checks them by
 * scheduler/credentials/credential-type-rules.ts) and credentials, whose inputs must fit their
 * type. Inputs the type marks secret are encrypted by src/db/credentials.ts and shown as
 * "$encrypted$"; sending "$encrypted$" back keeps them.
 */
const KINDS = ['ssh', 'vault', 'net', 'scm', 'cloud', 'registry', 'token', 'insights', 'external', 'kubernetes', 'galaxy', 'cryptography'] as const;

export const credentialTypes = defineResource({
  key: 'credential_types', type: 'credential_type', table: 'credential_types',
  fields: {
    ...named,
    kind: { type: 'text', writable: true, choices: ['net', 'cloud'], default: 'cloud' },
    namespace: ro('text'), managed: ro('bool'),
    inputs: { type: 'json', writable: true }, injectors: { type: 'json', writable: true },
  },
  search: ['name', 'description'],
  namedUrl: ['name', 'kind'],
  access: { roleType: 'credential_type', public: true, orgExpr: null },
  related: (r) => ({ credentials: `/api/v2/credential_types/${r.id}/credentials/`, activity_stream: `/api/v2/credential_types/${r.id}/activity_stream/` }),
  prepare: (_ctx, _db, data, existing) => {
    if (existing?.managed) throw badRequest({ detail: 'Modifications not allowed for managed credential types' });
    if (!existing && data.kind === undefined) data.kind = 'cloud';
    for (const k of ['inputs', 'injectors'] as const) {
      if (data[k] !== undefined && (data[k] === null || typeof data[k] !== 'object' || Array.isArray(data[k]))) throw badRequest({ [k]: ['Must be an object.'] });
      if (!existing && data[k] === undefined) data[k] = {};
    }
    if (data.inputs !== undefined) {
      const errors = credentialTypeInputsErrors(data.inputs);
      if (Object.keys(errors).length) throw badRequest(errors);
    }
    if (data.injectors !== undefined || data.inputs !== undefined) {
      const errors = credentialTypeInjectorsErrors(data.injectors ?? existing?.injectors ?? {},
        (data.inputs ?? existing?.inputs ?? {}) as CredentialTypeInputs);
      if (Object.keys(errors).length) throw badRequest(errors);
    }
    return data;
  },
  beforeDelete: async (_ctx, db, row) => {
    if (row.managed) throw badRequest({ detail: 'Deletion not allowed for managed credential types' });
    const { rowCount } = await db.query('SELECT 1 FROM credentials WHERE credential_type_id = $1 LIMIT 1', [row.id]);
    if (rowCount) throw badRequest({ detail: 'Credential types that are in use cannot be deleted' });
  },
});
void KINDS;

export const credentials = defineResource({
  key: 'credentials', type: 'credential', table: 'credentials',
  fields: {
    ...named,
    organization: fk('organizations'),
    credential_type: fk('credential_types', { required: true }),
    inputs: { type: 'json', writable: true },
    kind: ro('text', { col: '(SELECT ct.kind FROM credential_types ct WHERE ct.id = t.credential_type_id)' }),
    cloud: ro('bool', { col: `((SELECT ct.kind FROM credential_types ct WHERE ct.id = t.credential_type_id) = 'cloud')` }),
    managed: ro('bool', { col: 'false' }),
    user: { type: 'int', writable: true, writeOnly: true, col: '' },
    team: { type: 'int', writable: true, writeOnly: true, col: '' },
  },
  search: ['name', 'description'],
  namedUrl: ['name', 'credential_type.name'],
  access: { roleType: 'credential', canCreate: (_ctx, g, d) => d.organization == null || g.orgs('credential', 'admin').includes(d.organization as number) },
  objectRoles: ['admin_role', 'use_role', 'read_role'],
  related: (r) => {
    const u = `/api/v2/credentials/${r.id}/`;
    return Object.fromEntries(['activity_stream', 'access_list', 'object_roles', 'owner_users', 'owner_teams', 'copy', 'input_sources']
      .map((k) => [k, `${u}${k}/`]));
  },
  present: (row, out) => {
    out.inputs = maskSecrets((row.inputs ?? {}) as Row);
  },
  // Inputs reach the activity stream in clear on create and as the new side of an update:
  // every field the type marks secret is masked there, whatever its name (a custom type's `pin`).
  activityMask: async (db, values, whole) => {
    if (!values.inputs || typeof values.inputs !== 'object' || whole.credential_type == null) return values;
    return { ...values, inputs: maskSecretFields(values.inputs as Row, await secretFieldsOf(db, Number(whole.credential_type))) };
  },
  prepare: async (ctx, db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'credential', data, existing);
    // AWX's CredentialAccess.can_add: a credential owned by a user is given by that user or by someone who administers them.
    if (data.user != null && data.user !== caller.user.id) await requireUserAdmin(ctx.pool, caller.grants, Number(data.user));
    if (data.inputs !== undefined && (data.inputs === null || typeof data.inputs !== 'object' || Array.isArray(data.inputs))) {
      throw badRequest({ inputs: ['Must be an object.'] });
    }
    if (!existing && data.inputs === undefined) data.inputs = {};
    const typeId = data.credential_type ?? existing?.credential_type;
    if (data.inputs !== undefined && typeId != null) {
      const { rows: [type] } = await db.query<{ inputs: CredentialTypeInputs }>('SELECT inputs FROM credential_types WHERE id = $1', [typeId]);
      const given = Object.fromEntries(Object.entries(data.inputs as Row).filter(([, v]) => v !== '$encrypted$'));
      const errors = type ? credentialInputsErrors(given, type.inputs) : {};
      if (Object.keys(errors).length) throw badRequest({ inputs: errors });
    }
    return data;
  },
  insert: async (ctx, db, data) => insertCredential(db, ctx.secrets, {
    name: data.name as string, description: (data.description as string) ?? '', organization_id: (data.organization as number) ?? null,
    credential_type_id: data.credential_type as number, inputs: data.inputs as Row,
  }),
  update: async (ctx, db, id, data, existing) => {
    const cols: string[] = [];
    const vals: unknown[] = [id];
    for (const k of ['name', 'description'] as const) if (data[k] !== undefined) { vals.push(data[k]); cols.push(`${k} = $${vals.length}`); }
    if (data.organization !== undefined) { vals.push(data.organization); cols.push(`organization_id = $${vals.length}`); }
    if (cols.length) await db.query(`UPDATE credentials SET ${cols.join(', ')}, modified = now() WHERE id = $1`, vals);
    const typeId = (data.credential_type ?? existing.credential_type) as number;
    if (data.inputs !== undefined || data.credential_type !== undefined) {
      await updateCredentialInputs(db, ctx.secrets, id, typeId, (data.inputs ?? (await db.query('SELECT inputs FROM credentials WHERE id = $1', [id])).rows[0].inputs) as Row);
    }
  },
  afterCreate: async (_ctx, db, id, data, caller) => {
    if (data.user != null) await grantRole(db, 'credential', id, 'admin_role', data.user as number);
    else if (!caller.grants.superuser && data.organization == null) await grantRole(db, 'credential', id, 'admin_role', caller.user.id);
    if (data.team != null) {
      await db.query(
        `WITH r AS (INSERT INTO rbac_roles (resource_type, resource_id, role_field) VALUES ('credential', $1, 'admin_role')
                    ON CONFLICT (resource_type, resource_id, role_field) DO UPDATE SET role_field = EXCLUDED.role_field RETURNING id)
         INSERT INTO rbac_role_teams (role_id, team_id) SELECT id, $2 FROM r ON CONFLICT DO NOTHING`, [id, data.team]);
    }
  },
});
