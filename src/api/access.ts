import type { AuthenticatedUser } from './auth.js';
import type { ApiContext } from './context.js';
import { prepared } from './engine/prepared.js';

/**
 * RBAC, AWX's model: every organization, team, project, inventory, job template and
 * credential has object roles (`admin_role`, `execute_role`, `use_role`, `update_role`,
 * `adhoc_role`, `read_role`, `member_role`, ...); a user holds a role directly or through a
 * team whose `member_role` they hold. Roles imply others as in awx/main/models/rbac.py:
 * admin → everything on the object; execute/use/update/adhoc/member → read; on an
 * organization, `admin_role` → everything in the organization, `auditor_role` → read of
 * everything in it, `project_admin_role` → admin of its projects (and likewise inventory,
 * credential, job template, notification admins), `execute_role` → execute of its job
 * templates. Superusers do everything; system auditors read everything.
 *
 * Grants are loaded once per request (one indexed query) and then answer in memory; list
 * filters become `id = ANY($ids) OR organization_id = ANY($orgs)` with those arrays, so no
 * SQL text depends on the caller.
 */
export type Perm = 'read' | 'admin' | 'use' | 'execute' | 'update' | 'adhoc' | 'member';

export const OBJECT_ROLES: Record<string, string[]> = {
  organization: ['admin_role', 'execute_role', 'project_admin_role', 'inventory_admin_role', 'credential_admin_role',
    'workflow_admin_role', 'notification_admin_role', 'job_template_admin_role', 'execution_environment_admin_role',
    'auditor_role', 'member_role', 'read_role', 'approval_role'],
  team: ['admin_role', 'member_role', 'read_role'],
  project: ['admin_role', 'use_role', 'update_role', 'read_role'],
  inventory: ['admin_role', 'update_role', 'adhoc_role', 'use_role', 'read_role'],
  job_template: ['admin_role', 'execute_role', 'read_role'],
  credential: ['admin_role', 'use_role', 'read_role'],
};

const ALL: Perm[] = ['read', 'admin', 'use', 'execute', 'update', 'adhoc', 'member'];

/** What a role implies on its own object. */
const OWN: Record<string, Perm[]> = {
  admin_role: ALL, execute_role: ['execute', 'read'], use_role: ['use', 'read'], update_role: ['update', 'read'],
  adhoc_role: ['adhoc', 'use', 'read'], member_role: ['member', 'read'], read_role: ['read'],
};

/** What an organization role implies on the organization's objects, by object type. */
const ORG_CHILD: Record<string, Record<string, Perm[]>> = {
  admin_role: { '*': ALL },
  auditor_role: { '*': ['read'] },
  execute_role: { job_template: ['execute', 'read'] },
  project_admin_role: { project: ALL },
  inventory_admin_role: { inventory: ALL },
  credential_admin_role: { credential: ALL },
  job_template_admin_role: { job_template: ALL },
  notification_admin_role: { notification_template: ALL },
};

export const ROLE_DESCRIPTIONS: Record<string, [string, string]> = {
  admin_role: ['Admin', 'Can manage all aspects of the %s'],
  execute_role: ['Execute', 'May run the %s'],
  use_role: ['Use', 'Can use the %s in a job template'],
  update_role: ['Update', 'May update the %s'],
  adhoc_role: ['Ad Hoc', 'May run ad hoc commands on the %s'],
  read_role: ['Read', 'May view settings for the %s'],
  member_role: ['Member', 'User is a member of the %s'],
  auditor_role: ['Auditor', 'Can view all aspects of the %s'],
  project_admin_role: ['Project Admin', 'Can manage all projects of the %s'],
  inventory_admin_role: ['Inventory Admin', 'Can manage all inventories of the %s'],
  credential_admin_role: ['Credential Admin', 'Can manage all credentials of the %s'],
  workflow_admin_role: ['Workflow Admin', 'Can manage all workflows of the %s'],
  notification_admin_role: ['Notification Admin', 'Can manage all notifications of the %s'],
  job_template_admin_role: ['Job Template Admin', 'Can manage all job templates of the %s'],
  execution_environment_admin_role: ['Execution Environment Admin', 'Can manage all execution environments of the %s'],
  approval_role: ['Approve', 'Can approve or deny a workflow approval node'],
};

export interface HeldRole { type: string; id: number; field: string }

export class Grants {
  readonly user: AuthenticatedUser;
  readonly roles: HeldRole[];
  constructor(user: AuthenticatedUser, roles: HeldRole[]) {
    this.user = user;
    this.roles = roles;
  }

  get superuser(): boolean { return this.user.is_superuser; }
  get readsAll(): boolean { return this.user.is_superuser || this.user.is_system_auditor; }

  /** Permissions on one object of `type`, given its organization. */
  perms(type: string, id: number | null | undefined, orgId: number | null | undefined): Set<Perm> {
    if (this.superuser) return new Set(ALL);
    const out = new Set<Perm>(this.user.is_system_auditor ? ['read'] : []);
    for (const r of this.roles) {
      if (r.type === type && r.id === id) for (const p of OWN[r.field] ?? ['read']) out.add(p);
      if (r.type === 'organization' && orgId != null && r.id === orgId && type !== 'organization') {
        const child = ORG_CHILD[r.field];
        for (const p of child?.['*'] ?? child?.[type] ?? []) out.add(p);
      }
    }
    return out;
  }

  /** Ids of `type` objects on which a held role (on the object itself) implies `perm`. */
  ids(type: string, perm: Perm): number[] {
    return this.roles.filter((r) => r.type === type && (OWN[r.field] ?? ['read']).includes(perm)).map((r) => r.id);
  }

  /** Organizations whose roles imply `perm` on their objects of `type`. */
  orgs(type: string, perm: Perm): number[] {
    if (type === 'organization') return this.ids('organization', perm);
    return this.roles.filter((r) => {
      if (r.type !== 'organization') return false;
      const child = ORG_CHILD[r.field];
      return (child?.['*'] ?? child?.[type] ?? []).includes(perm);
    }).map((r) => r.id);
  }

  /** Organizations the user belongs to in any role. */
  memberOrgs(): number[] {
    return this.roles.filter((r) => r.type === 'organization').map((r) => r.id);
  }
}

export async function loadGrants(ctx: ApiContext, user: AuthenticatedUser): Promise<Grants> {
  if (user.is_superuser) return new Grants(user, []);
  const { rows } = await ctx.pool.query<{ resource_type: string; resource_id: string; role_field: string }>(prepared(
    'SELECT resource_type, resource_id, role_field FROM rbac_user_roles WHERE user_id = $1', [user.id]));
  return new Grants(user, rows.map((r) => ({ type: r.resource_type, id: Number(r.resource_id), field: r.role_field })));
}

/**
 * Read access to unified jobs, the one check the websocket server and the event/stdout
 * endpoints need. Same rule as the /unified_jobs/ list: the job's template is readable,
 * or its organization's admin/auditor role is held, or the caller launched it.
 */
export async function canReadUnifiedJob(ctx: ApiContext, user: AuthenticatedUser, jobId: number): Promise<boolean> {
  if (user.is_superuser || user.is_system_auditor) return true;
  const grants = await loadGrants(ctx, user);
  const { rowCount } = await ctx.pool.query(
    `SELECT 1 FROM unified_jobs t WHERE t.id = $1 AND ${unifiedJobReadSql(grants, 2)}`,
    [jobId, ...unifiedJobReadParams(grants)]);
  return (rowCount ?? 0) > 0;
}

/** The read condition on unified_jobs (alias t) with parameters from `$first`. */
export function unifiedJobReadSql(_grants: Grants, first: number): string {
  return `(t.created_by_id = $${first} OR t.unified_job_template_id = ANY($${first + 1}::bigint[])
    OR t.organization_id = ANY($${first + 2}::bigint[]) OR t.inventory_id = ANY($${first + 3}::bigint[])
    OR t.inventory_id IN (SELECT id FROM inventories WHERE organization_id = ANY($${first + 4}::bigint[])))`;
}

export function unifiedJobReadParams(grants: Grants): unknown[] {
  const templates = [...grants.ids('job_template', 'read'), ...grants.ids('project', 'read')];
  const orgs = [...new Set([...grants.orgs('job_template', 'read'), ...grants.orgs('project', 'read')])];
  return [grants.user.id, templates, orgs, grants.ids('inventory', 'read'), grants.orgs('inventory', 'read')];
}
