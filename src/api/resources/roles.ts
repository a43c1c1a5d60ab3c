import { ROLE_DESCRIPTIONS } from '../access.js';
import { defineResource, type Row } from '../engine/resource.js';
import { base, ro } from './common.js';

/**
 * Roles as AWX lists them: `/roles/N/` with `users/` and `teams/` sub-lists, where POST
 * `{"id": n}` grants and `{"id": n, "disassociate": true}` revokes. Whoever administers the
 * role's object (or its organization) may grant it.
 */
const PATHS: Record<string, string> = { organization: 'organizations', team: 'teams', project: 'projects', inventory: 'inventories',
  job_template: 'job_templates', credential: 'credentials', instance_group: 'instance_groups' };

/** The table holding each role-bearing object, for its name (its API path's, and workflows'). */
const TABLES: Record<string, string> = { ...PATHS, workflow_job_template: 'workflow_job_templates' };

export const roles = defineResource({
  key: 'roles', type: 'role', table: 'rbac_roles',
  fields: {
    id: { type: 'int' }, role_field: ro('text'), resource_type: ro('text'), resource_id: ro('int'),
  },
  search: ['role_field'], readOnly: true, noDelete: true,
  access: {
    roleType: 'role', idExpr: 't.resource_id',
    orgExpr: `(CASE t.resource_type WHEN 'organization' THEN t.resource_id
      WHEN 'team' THEN (SELECT organization_id FROM teams WHERE id = t.resource_id)
      WHEN 'project' THEN (SELECT organization_id FROM projects WHERE id = t.resource_id)
      WHEN 'inventory' THEN (SELECT organization_id FROM inventories WHERE id = t.resource_id)
      WHEN 'job_template' THEN (SELECT organization_id FROM job_templates WHERE id = t.resource_id)
      WHEN 'credential' THEN (SELECT organization_id FROM credentials WHERE id = t.resource_id) END)`,
    readSql: () => 'true',
  },
  // AWX's role summary names its object (resource_name), so a holder's role list reads
  // "Deploy — Execute" rather than "job_template 7 — Execute": one query per page.
  extraSummary: async (ctx, rows) => {
    const pairs = rows.map((r) => [String(r.resource_type), Number(r.resource_id)] as const).filter(([t]) => TABLES[t]);
    if (!pairs.length) return;
    const types = [...new Set(pairs.map(([t]) => t))];
    const { rows: names } = await ctx.pool.query(types.map((t, i) =>
      `SELECT '${t}' AS type, id, name FROM ${TABLES[t]} WHERE id = ANY($${i + 1}::bigint[])`).join(' UNION ALL '),
    types.map((t) => pairs.filter(([pt]) => pt === t).map(([, id]) => id)));
    const byKey = new Map(names.map((n) => [`${n.type}:${n.id}`, n.name as string]));
    for (const r of rows) {
      const name = byKey.get(`${r.resource_type}:${r.resource_id}`);
      if (name !== undefined) (r.summary_fields as Row).resource_name = name;
    }
  },
  present: (row, out) => {
    const [name, desc] = ROLE_DESCRIPTIONS[row.role_field as string] ?? [row.role_field, ''];
    out.name = name;
    out.description = (desc as string).replace('%s', String(row.resource_type).replace(/_/g, ' '));
    out.summary_fields = { resource_type: row.resource_type, resource_id: row.resource_id,
      resource_type_display_name: String(row.resource_type).replace(/_/g, ' ') } as Row;
    out.related = { users: `/api/v2/roles/${row.id}/users/`, teams: `/api/v2/roles/${row.id}/teams/`,
      [String(row.resource_type)]: `/api/v2/${PATHS[row.resource_type as string] ?? row.resource_type}/${row.resource_id}/` };
  },
});
void base;
