import { OBJECT_ROLES, ROLE_DESCRIPTIONS } from '../access.js';
import type { ApiContext } from '../context.js';
import { capabilities, idExpr, orgExpr } from './permissions.js';
import { colOf, resourceByKey, type Caller, type FieldDef, type ResourceDef, type Row } from './resource.js';
import { prepared } from '../../db/prepared.js';
import { keepRouted } from './routed.js';

/**
 * Row → AWX object. The SELECT list is built once per resource: every readable field, the
 * summary of each foreign key as a json_build_object subselect (a primary-key lookup), and
 * the two access columns. One round trip serves a whole page with its summary_fields,
 * which is what keeps a 25-job page cheap.
 */
const selectCache = new Map<string, string>();

function summaryColumns(target: ResourceDef): string[] {
  return target.summary ?? ['id', 'name', 'description'];
}

/** A list page, or an object's own page: list pages leave out `detailOnly` fields. */
export type View = 'list' | 'detail';

const shown = (f: FieldDef, view: View) => !f.writeOnly && !(view === 'list' && f.detailOnly);

export function selectList(def: ResourceDef, view: View): string {
  const key = `${def.key} ${view}`;
  const cached = selectCache.get(key);
  if (cached) return cached;
  const cols: string[] = [];
  for (const [name, f] of Object.entries(def.fields)) {
    if (!shown(f, view)) continue;
    cols.push(`${colOf(name, f)} AS "${name}"`);
    if (f.fk) {
      const target = resourceByKey(f.fk);
      if (!target) continue;
      const pairs = summaryColumns(target).map((c) => {
        const tf = target.fields[c];
        return `'${c}', ${tf ? colOf(c, tf).replace(/\bt\./g, 's.') : `s."${c}"`}`;
      });
      cols.push(`(SELECT json_build_object(${pairs.join(', ')}) FROM ${target.table} s WHERE s.id = ${colOf(name, f)}) AS "_s_${name}"`);
    }
  }
  cols.push(`${idExpr(def)} AS "_aid"`);
  const org = orgExpr(def);
  cols.push(`${org ?? 'NULL::bigint'} AS "_aorg"`);
  if (def.accessSelect) cols.push(def.accessSelect);
  const sql = cols.join(', ');
  selectCache.set(key, sql);
  return sql;
}

export function objectUrl(def: ResourceDef, id: unknown): string {
  return `/api/v2/${def.key}/${id}/`;
}

export async function serializeRows(ctx: ApiContext, def: ResourceDef, rows: Row[], caller: Caller, view: View): Promise<Row[]> {
  const shape = shapeOf(def, view);
  const out = rows.map((row) => serializeRow(def, shape, row, caller));
  if (def.objectRoles?.length && rows.length) await addObjectRoles(ctx, def, out);
  if (def.extraSummary) await def.extraSummary(ctx, out, caller);
  return out;
}

interface RowShape {
  /** Foreign keys: field name, its summary column, the target's URL prefix. */
  fks: [string, string, string][];
  /** Fields shown, in definition order. */
  shown: string[];
}

/**
 * Per-resource field walk done once: on a 25-job page the two Object.entries walks per row
 * were 8% of the web process's CPU in a profile of the job-list load test. Built lazily
 * because some definitions add fields after defineResource.
 */
const shapes = new Map<string, RowShape>();

function shapeOf(def: ResourceDef, view: View): RowShape {
  const key = `${def.key} ${view}`;
  let shape = shapes.get(key);
  if (!shape) {
    const fks: [string, string, string][] = [];
    const fields: string[] = [];
    for (const [name, f] of Object.entries(def.fields)) {
      const target = f.fk ? resourceByKey(f.fk) : undefined;
      if (target) fks.push([name, `_s_${name}`, `/api/v2/${target.key}/`]);
      if (shown(f, view) && name !== 'id' && name !== 'type') fields.push(name);
    }
    shape = { fks, shown: fields };
    shapes.set(key, shape);
  }
  return shape;
}

function serializeRow(def: ResourceDef, shape: RowShape, row: Row, caller: Caller): Row {
  const related: Record<string, string> = {};
  const summary: Record<string, unknown> = {};
  for (const [name, summaryCol, prefix] of shape.fks) {
    if (row[name] != null) related[name] = `${prefix}${row[name]}/`;
    const s = row[summaryCol];
    if (s) summary[name] = s;
  }
  Object.assign(related, def.related?.(row));
  summary.user_capabilities = capabilities(def, caller.grants, row);
  const out: Row = {
    id: row.id, type: def.type, url: objectUrl(def, row.id), related, summary_fields: summary,
  };
  for (const name of shape.shown) out[name] = row[name];
  def.present?.(row, out);
  out.related = keepRouted(out.related as Record<string, unknown>);
  return out;
}

type RoleRow = { id: string; resource_id: string; role_field: string };

/**
 * The object roles of `ids`, made where missing. Roles are rows made lazily, on the first
 * read: read them, and write only when some are missing (once per object).
 */
export async function ensureObjectRoles(ctx: ApiContext, def: ResourceDef, ids: number[]): Promise<RoleRow[]> {
  const fields = def.objectRoles ?? OBJECT_ROLES[def.type] ?? [];
  const { rows } = await ctx.pool.query<RoleRow>(prepared(
    `SELECT r.id, r.resource_id, r.role_field FROM rbac_roles r
      WHERE r.resource_type = $1 AND r.resource_id = ANY($2::bigint[]) AND r.role_field = ANY($3::text[])`, [def.type, ids, fields]));
  if (rows.length >= ids.length * fields.length) return rows;
  return (await ctx.pool.query<RoleRow>(
    `WITH wanted AS (SELECT $1::text AS resource_type, o AS resource_id, f AS role_field
                       FROM unnest($2::bigint[]) o CROSS JOIN unnest($3::text[]) f),
          ins AS (INSERT INTO rbac_roles (resource_type, resource_id, role_field) SELECT * FROM wanted
                  ON CONFLICT DO NOTHING RETURNING id, resource_id, role_field)
     SELECT id, resource_id, role_field FROM ins
     UNION ALL
     SELECT r.id, r.resource_id, r.role_field FROM rbac_roles r JOIN wanted w USING (resource_type, resource_id, role_field)`,
    [def.type, ids, fields])).rows;
}

/** Lists the page's object roles under summary_fields.object_roles (ensureObjectRoles). */
async function addObjectRoles(ctx: ApiContext, def: ResourceDef, out: Row[]): Promise<void> {
  const rows = await ensureObjectRoles(ctx, def, out.map((o) => o.id as number));
  const byObject = new Map<number, Record<string, unknown>>();
  for (const r of rows) {
    const [name, desc] = ROLE_DESCRIPTIONS[r.role_field] ?? [r.role_field, ''];
    const roles = byObject.get(Number(r.resource_id)) ?? {};
    roles[r.role_field] = { id: Number(r.id), name, description: desc.replace('%s', def.type.replace(/_/g, ' ')) };
    byObject.set(Number(r.resource_id), roles);
  }
  for (const o of out) {
    (o.summary_fields as Row).object_roles = byObject.get(o.id as number) ?? {};
    (o.related as Row).object_roles = `/api/v2/${def.key}/${o.id}/object_roles/`;
    (o.related as Row).access_list = `/api/v2/${def.key}/${o.id}/access_list/`;
  }
}
