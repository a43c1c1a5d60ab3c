import type { Grants, Perm } from '../access.js';
import type { ApiContext } from '../context.js';
import { forbidden } from '../http.js';
import type { Params } from '../../db/lookups.js';
import type { Capabilities, ResourceDef, Row } from './resource.js';

/**
 * The bridge between a resource's AccessRule and the grants of the caller: a SQL
 * condition for lists (what the caller may see), per-row permissions for
 * user_capabilities, and the checks behind every write.
 */
export function idExpr(def: ResourceDef): string { return def.access.idExpr ?? 't.id'; }
export function orgExpr(def: ResourceDef): string | null {
  return def.access.orgExpr === undefined ? 't.organization_id' : def.access.orgExpr;
}

/** SQL condition (over t) restricting `def` to objects on which the caller has `perm`; undefined: no restriction. */
export function permCondition(def: ResourceDef, grants: Grants, perm: Perm, params: Params): string | undefined {
  if (grants.superuser) return undefined;
  if (perm === 'read' && grants.readsAll) return undefined;
  const rule = def.access;
  if (rule.public) return perm === 'read' ? undefined : 'false';
  if (rule.superOnly) return 'false';
  if (perm === 'read' && rule.readSql) return rule.readSql(grants, params);
  const ids = grants.ids(rule.roleType, perm);
  const orgs = grants.orgs(rule.roleType, perm);
  const org = orgExpr(def);
  // No grant at all: nothing, said so the planner reads no row (a member without inventories
  // had every host's organization looked up to find none: 75 ms over 10,000 hosts).
  if (!ids.length && (!org || !orgs.length)) return 'false';
  const byId = `${idExpr(def)} = ANY(${params.push(ids)}::bigint[])`;
  return org ? `(${byId} OR ${org} = ANY(${params.push(orgs)}::bigint[]))` : `(${byId})`;
}

/** Permissions on one serialized row (the list query selected `_aid` and `_aorg`). */
export function rowPerms(def: ResourceDef, grants: Grants, row: Row): Set<Perm> {
  const rule = def.access;
  if (grants.superuser) return grants.perms(rule.roleType, 0, 0);
  if (rule.public || rule.superOnly) return new Set(grants.readsAll || rule.public ? ['read'] : []);
  return grants.perms(rule.rowRoleType?.(row) ?? rule.roleType, row._aid as number | null, row._aorg as number | null);
}

const START_PERM: Record<string, Perm> = { job_template: 'execute', project: 'update', inventory_source: 'update', system_job_template: 'admin',
  workflow_job_template: 'execute' };

export function capabilities(def: ResourceDef, grants: Grants, row: Row): Capabilities {
  const perms = rowPerms(def, grants, row);
  const admin = perms.has('admin');
  const caps: Capabilities = { edit: admin, delete: admin && !def.noDelete };
  if (def.access.rowAdmin) {
    caps.edit = def.access.rowAdmin(grants, row);
    caps.delete = caps.edit && !def.noDelete;
  }
  if (def.access.mayDelete) caps.delete = caps.delete && def.access.mayDelete(grants, row);
  const start = START_PERM[def.type];
  if (start) { caps.start = perms.has(start); caps.schedule = perms.has(start); caps.copy = admin; }
  // A job's `start` is relaunch: AWX grants it to those who may execute its template.
  if (def.type === 'job') caps.start = grants.superuser || grants.perms('job_template', row.unified_job_template as number | null, row.organization as number | null).has('execute');
  if (def.type === 'inventory') { caps.adhoc = perms.has('adhoc'); caps.copy = admin; }
  if (def.type === 'credential') { caps.use = perms.has('use'); caps.copy = admin; }
  if (def.type === 'project' || def.type === 'notification_template') caps.copy = admin;
  return caps;
}

/** Throws 403 unless the caller has `perm` on the row. */
export function requirePerm(def: ResourceDef, grants: Grants, row: Row, perm: Perm): void {
  if (perm === 'admin' && def.access.rowAdmin) {
    if (!def.access.rowAdmin(grants, row)) throw forbidden();
    return;
  }
  if (!rowPerms(def, grants, row).has(perm)) throw forbidden();
}

/** Whether the caller may create an object of `def` with `data` (fk fields already resolved to ids). */
export async function mayCreate(ctx: ApiContext, def: ResourceDef, grants: Grants, data: Row): Promise<boolean> {
  if (grants.superuser) return true;
  const rule = def.access;
  if (rule.canCreate) return rule.canCreate(ctx, grants, data);
  if (rule.public || rule.superOnly) return false;
  const org = data.organization as number | null | undefined;
  return org != null && grants.orgs(rule.roleType, 'admin').includes(org);
}
