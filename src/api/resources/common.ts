import type { Queryable } from '../engine/resource.js';
import type { FieldDef, Fields } from '../engine/resource.js';
import { badRequest } from '../http.js';
import { parseVars } from '../../scheduler/vars.js';

/** Fields every AWX object carries, and the usual name/description pair. */
export const base: Fields = {
  id: { type: 'int' },
  created: { type: 'time' },
  modified: { type: 'time' },
};

export const named: Fields = {
  ...base,
  name: { type: 'text', writable: true, required: true, maxLength: 512 },
  description: { type: 'text', writable: true, maxLength: 10_000 },
};

export const text = (extra: Partial<FieldDef> = {}): FieldDef => ({ type: 'text', writable: true, ...extra });
export const bool = (extra: Partial<FieldDef> = {}): FieldDef => ({ type: 'bool', writable: true, ...extra });
export const int = (extra: Partial<FieldDef> = {}): FieldDef => ({ type: 'int', writable: true, ...extra });
export const fk = (target: string, extra: Partial<FieldDef> = {}): FieldDef => ({ type: 'int', fk: target, writable: true, ...extra });
export const ro = (type: FieldDef['type'], extra: Partial<FieldDef> = {}): FieldDef => ({ type, ...extra });

/** Grants a role (created if missing) on an object to a user. */
export async function grantRole(db: Queryable, type: string, id: number, field: string, userId: number): Promise<void> {
  await db.query(
    `WITH r AS (INSERT INTO rbac_roles (resource_type, resource_id, role_field) VALUES ($1, $2, $3)
                ON CONFLICT (resource_type, resource_id, role_field) DO UPDATE SET role_field = EXCLUDED.role_field RETURNING id)
     INSERT INTO rbac_role_users (role_id, user_id) SELECT id, $4 FROM r ON CONFLICT DO NOTHING`, [type, id, field, userId]);
}

export async function revokeRole(db: Queryable, type: string, id: number, field: string, userId: number): Promise<void> {
  await db.query(
    `DELETE FROM rbac_role_users WHERE user_id = $4 AND role_id =
       (SELECT id FROM rbac_roles WHERE resource_type = $1 AND resource_id = $2 AND role_field = $3)`, [type, id, field, userId]);
}

/** Condition on users (alias t) holding a role on an object. */
export function holdsRole(type: string, field: string, idParam: string): string {
  return `t.id IN (SELECT ur.user_id FROM rbac_user_roles ur WHERE ur.resource_type = '${type}' AND ur.role_field = '${field}' AND ur.resource_id = ${idParam})`;
}

/**
 * Variables (extra_vars, an inventory's, host's or group's variables) as stored: text is kept
 * as given (AWX keeps the text; awx.awx compares it) once it parses as a JSON or YAML mapping
 * (AWX's vars_validate_or_raise), an object as JSON. Anything else is a 400 naming the field.
 */
export function varsText(field: string, v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  try {
    const parsed = parseVars(v, field);
    if (typeof v === 'string') return v;
    return Object.keys(parsed).length ? JSON.stringify(parsed) : '';
  } catch (err) {
    throw badRequest({ [field]: [(err as Error).message] });
  }
}
