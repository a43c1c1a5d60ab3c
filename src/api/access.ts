import type { AuthenticatedUser } from './auth.js';
import type { ApiContext } from './context.js';
import { prepared } from '../db/prepared.js';
import type { Queryable, Row } from './engine/resource.js';
import { badRequest, HttpError } from './http.js';

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
export type Perm = 'read' | 'admin' | 'use' | 'execute' | 'update' | 'adhoc' | 'member' | 'approve';

export const OBJECT_ROLES: Record<string, string[]> = {
  organization: ['admin_role', 'execute_role', 'project_admin_role', 'inventory_admin_role', 'credential_admin_role',
    'workflow_admin_role', 'notification_admin_role', 'job_template_admin_role', 'execution_environment_admin_role',
    'auditor_role', 'member_role', 'read_role', 'approval_role'],
  team: ['admin_role', 'member_role', 'read_role'],
  project: ['admin_role', 'use_role', 'update_role', 'read_role'],
  inventory: ['admin_role', 'update_role', 'adhoc_role', 'use_role', 'read_role'],
  job_template: ['admin_role', 'execute_role', 'read_role'],
  workflow_job_template: ['admin_role', 'execute_role', 'read_role', 'approval_role'],
  credential: ['admin_role', 'use_role', 'read_role'],
  instance_group: ['admin_role', 'use_role', 'read_role'],
};

const ALL: Perm[] = ['read', 'admin', 'use', 'execute', 'update', 'adhoc', 'member', 'approve'];

/** What a role implies on its own object. */
const OWN: Record<string, Perm[]> = {
  admin_role: ALL, execute_role: ['execute', 'read'], use_role: ['use', 'read'], update_role: ['update', 'read'],
  adhoc_role: ['adhoc', 'use', 'read'], member_role: ['member', 'read'], read_role: ['read'], approval_role: ['approve', 'read'],
};

/** What an organization role implies on the organization's objects, by object type. */
const ORG_CHILD: Record<string, Record<string, Perm[]>> = {
  admin_role: { '*': ALL },
  auditor_role: { '*': ['read'] },
  execute_role: { job_template: ['execute', 'read'], workflow_job_template: ['execute', 'read'] },
  project_admin_role: { project: ALL },
  inventory_admin_role: { inventory: ALL },
  credential_admin_role: { credential: ALL },
  job_template_admin_role: { job_template: ALL },
  workflow_admin_role: { workflow_job_template: ALL },
  approval_role: { workflow_job_template: ['approve', 'read'] },
  notification_admin_role: { notification_template: ALL },
  execution_environment_admin_role: { execution_environment: ALL },
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

/** The tables a user's grants are read from (through the rbac_user_roles view). */
export const GRANT_TABLES = ['rbac_roles', 'rbac_role_users', 'rbac_role_teams'];

export async function loadGrants(ctx: ApiContext, user: AuthenticatedUser): Promise<Grants> {
  if (user.is_superuser) return new Grants(user, []);
  const read = async () => {
    const { rows } = await ctx.pool.query<{ resource_type: string; resource_id: string; role_field: string }>(prepared(
      'SELECT resource_type, resource_id, role_field FROM rbac_user_roles WHERE user_id = $1', [user.id]));
    return rows.map((r): HeldRole => ({ type: r.resource_type, id: Number(r.resource_id), field: r.role_field }));
  };
  // Kept with the credential lookups (cache/read-cache.ts) until a role changes.
  const held = ctx.readCache ? await ctx.readCache.auth.load(`grants ${user.id}`, async () => ({ value: await read(), tables: GRANT_TABLES })) : await read();
  return new Grants(user, held as HeldRole[]);
}

/**
 * Read access to unified jobs, the one check the websocket server and the event/stdout
 * endpoints need. Same rule as the /unified_jobs/ list: the job's template is readable,
 * or its organization's admin/auditor role is held, or the caller launched it.
 */
export async function canReadUnifiedJob(ctx: ApiContext, user: AuthenticatedUser, jobId: number): Promise<boolean> {
  if (user.is_superuser || user.is_system_auditor) return true;
  const grants = await loadGrants(ctx, user);
  const read = unifiedJobRead(grants, 2);
  const { rowCount } = await ctx.pool.query(`SELECT 1 FROM unified_jobs t WHERE t.id = $1 AND ${read.sql}`, [jobId, ...read.params]);
  return (rowCount ?? 0) > 0;
}

/**
 * The read condition on unified_jobs (alias t) with its parameters, numbered from `$first`. A
 * bulk job — a workflow job with no template (AWX's WorkflowJobAccess) — is read only by whoever
 * launched it and its organization's admins: its organization and inventory prompt lend no
 * read to their other readers. It reads only the columns of the jobs' counter table
 * (list-count.ts), so non-admin counts stay there, and each arm keeps an indexed column of
 * its own, so the planner ORs index scans. Arms the caller holds no grant for are left out,
 * not written with an empty array: each was planned and tested on every row walked (a
 * member holding templates only had six arms and an inventory subquery planned per page,
 * ~1 ms of planning a page under load, and 18 % more time walking a deep page).
 */
export function unifiedJobRead(grants: Grants, first: number): { sql: string; params: unknown[] } {
  const templates = [...grants.ids('job_template', 'read'), ...grants.ids('project', 'read'), ...grants.ids('workflow_job_template', 'read')];
  const orgs = [...new Set([...grants.orgs('job_template', 'read'), ...grants.orgs('project', 'read'), ...grants.orgs('workflow_job_template', 'read')])];
  const params: unknown[] = [grants.user.id];
  const $ = (value: unknown) => `$${first + params.push(value) - 1}`;
  const bulk = `(t.kind = 'workflow_job' AND t.unified_job_template_id IS NULL)`;
  const arms = [`t.created_by_id = $${first}`];
  const when = (values: number[], arm: (p: string) => string) => { if (values.length) arms.push(arm(`${$(values)}::bigint[]`)); };
  when(templates, (p) => `t.unified_job_template_id = ANY(${p})`);
  when(orgs, (p) => `(t.organization_id = ANY(${p}) AND NOT ${bulk})`);
  when(grants.ids('organization', 'admin'), (p) => `(t.organization_id = ANY(${p}) AND ${bulk})`);
  when(grants.ids('inventory', 'read'), (p) => `(t.inventory_id = ANY(${p}) AND NOT ${bulk})`);
  when(grants.orgs('inventory', 'read'), (p) => `(t.inventory_id IN (SELECT id FROM inventories WHERE organization_id = ANY(${p})) AND NOT ${bulk})`);
  return { sql: `(${arms.join(' OR ')})`, params };
}

/**
 * Links: every field (or many-to-many sub-list) that points one object at another, and the
 * permission the caller needs on the object pointed at — AWX's check_related calls in
 * awx/main/access.py, gathered in one table. Holding a link lends the target's power to
 * whoever runs through it (a project's credential goes to any scm_url the project names, a
 * template's inventory receives its playbook), so seeing a target is never enough: `use`
 * for what runs with it, `admin` for what changes its contents, the right to start a
 * template for what launches it. Create, update, launch prompts, relaunch, schedules,
 * copies and sub-list associations all check here.
 */
export type LinkTarget = 'inventory' | 'project' | 'credential' | 'instance_group' | 'team' | 'organization' | 'unified_job_template';

export interface LinkRule {
  target: LinkTarget;
  /** Permission needed on the target; on `unified_job_template`, `execute` means the right to start it, whatever its kind. */
  perm: Perm;
  /** On an organization: the permission is the one the organization's roles give on its objects of this type (project admins...). */
  of?: string;
  /** A list of ids (credentials, instance groups): only the ids not already linked are checked. */
  many?: boolean;
  /** Never changed once made (AWX: "Unable to change inventory on a host."). */
  fixed?: boolean;
}

const use = (target: LinkTarget, extra: Partial<LinkRule> = {}): LinkRule => ({ target, perm: 'use', ...extra });
const inOrg = (of: string): LinkRule => ({ target: 'organization', perm: 'admin', of });

/** Link fields by the kind of object (or action) holding them. */
export const LINKS: Record<string, Record<string, LinkRule>> = {
  // JobTemplateAccess.can_add/can_change (organization follows the project, as in AWX); UnifiedCredentialsMixin; can_attach instance_groups.
  job_template: { project: use('project'), inventory: use('inventory'), credentials: use('credential', { many: true }),
    instance_groups: use('instance_group', { many: true }) },
  // JobLaunchConfigAccess: prompts given at launch, reused by relaunch.
  launch: { inventory: use('inventory'), credentials: use('credential', { many: true }) },
  // ScheduleAccess: the right to start the template, and its launch config's prompts.
  schedule: { unified_job_template: { target: 'unified_job_template', perm: 'execute' }, inventory: use('inventory'),
    credentials: use('credential', { many: true }) },
  // WorkflowJobTemplateAccess: workflow admin of the organization, use of the inventory.
  workflow_job_template: { organization: inOrg('workflow_job_template'), inventory: use('inventory') },
  // WorkflowJobTemplateNodeAccess: the right to start the node's template, and its prompts' links.
  workflow_job_template_node: { unified_job_template: { target: 'unified_job_template', perm: 'execute' }, inventory: use('inventory'),
    credentials: use('credential', { many: true }) },
  // AdHocCommandAccess.can_add (and can_start, for relaunch): adhoc_role on the inventory, use of the credential.
  ad_hoc_command: { inventory: { target: 'inventory', perm: 'adhoc' }, credential: use('credential') },
  // ProjectAccess: the credential git authenticates with goes to the project's scm_url.
  project: { organization: inOrg('project'), credential: use('credential') },
  // InventoryInputInventoriesList: a constructed inventory's inputs (use, not AWX's read: see resources/constructed-source.ts).
  inventory: { organization: inOrg('inventory'), instance_groups: use('instance_group', { many: true }),
    input_inventories: use('inventory', { many: true }) },
  // HostAccess/GroupAccess: admin of the inventory, which never changes.
  host: { inventory: { target: 'inventory', perm: 'admin', fixed: true } },
  group: { inventory: { target: 'inventory', perm: 'admin', fixed: true } },
  // InventorySourceAccess: admin of the inventory, use of the source project and of the credential.
  inventory_source: { inventory: { target: 'inventory', perm: 'admin' }, source_project: use('project'), credential: use('credential') },
  // CredentialAccess: a credential's team owner must be administered by the caller.
  credential: { organization: inOrg('credential'), team: { target: 'team', perm: 'admin' } },
  // CredentialInputSourceAccess: admin of the credential filled, use of the lookup credential.
  credential_input_source: { target_credential: { target: 'credential', perm: 'admin' }, source_credential: use('credential') },
  team: { organization: inOrg('team') },
  notification_template: { organization: inOrg('notification_template') },
  organization: { instance_groups: use('instance_group', { many: true }) },
  // ExecutionEnvironmentAccess: EE admin of the organization; use of the registry credential (api/resources/execution-environments.ts).
  execution_environment: { organization: inOrg('execution_environment'), credential: use('credential') },
  // OAuth2ApplicationAccess.can_add/can_change: admin of the application's organization.
  oauth2_application: { organization: inOrg('oauth2_application') },
  // A user created through /organizations/N/users/ becomes its member: admin of that organization.
  user: { organization: { target: 'organization', perm: 'admin' } },
};

interface LinkedRow { id: number; org: number | null; roleType: string; roleId: number; perm: Perm | null }

/** The rows of targets by id, with what a role must imply on which object for the rule to hold. */
async function loadTargets(db: Queryable, rule: LinkRule, targetIds: number[]): Promise<Map<number, LinkedRow>> {
  const out = new Map<number, LinkedRow>();
  if (rule.target === 'unified_job_template') {
    // The right to start: AWX's can_start of each kind (execute; update; update of the source's inventory; superusers only).
    const { rows } = await db.query<{ id: string; kind: string; org: string | null; role_id: string }>(
      `SELECT id, 'job_template' AS kind, organization_id AS org, id AS role_id FROM job_templates WHERE id = ANY($1::bigint[])
       UNION ALL SELECT id, 'project', organization_id, id FROM projects WHERE id = ANY($1::bigint[])
       UNION ALL SELECT s.id, 'inventory_source', i.organization_id, s.inventory_id FROM inventory_sources s
                   JOIN inventories i ON i.id = s.inventory_id WHERE s.id = ANY($1::bigint[])
       UNION ALL SELECT id, 'system_job_template', NULL, id FROM system_job_templates WHERE id = ANY($1::bigint[])
       UNION ALL SELECT id, 'workflow_job_template', organization_id, id FROM workflow_job_templates WHERE id = ANY($1::bigint[])`, [targetIds]);
    for (const r of rows) {
      const [roleType, perm] = START[r.kind];
      out.set(Number(r.id), { id: Number(r.id), org: r.org == null ? null : Number(r.org), roleType, roleId: Number(r.role_id), perm });
    }
    return out;
  }
  const { rows } = await db.query<{ id: string; org: string | null }>(TARGET_SQL[rule.target], [targetIds]);
  for (const r of rows) {
    const org = r.org == null ? null : Number(r.org);
    out.set(Number(r.id), rule.of
      ? { id: Number(r.id), org, roleType: rule.of, roleId: 0, perm: rule.perm }
      : { id: Number(r.id), org, roleType: rule.target, roleId: Number(r.id), perm: rule.perm });
  }
  return out;
}

const START: Record<string, [string, Perm | null]> = {
  job_template: ['job_template', 'execute'], project: ['project', 'update'], inventory_source: ['inventory', 'update'],
  system_job_template: ['system_job_template', null], workflow_job_template: ['workflow_job_template', 'execute'],
};

const TARGET_SQL: Record<Exclude<LinkTarget, 'unified_job_template'>, string> = {
  inventory: 'SELECT id, organization_id AS org FROM inventories WHERE id = ANY($1::bigint[])',
  project: 'SELECT id, organization_id AS org FROM projects WHERE id = ANY($1::bigint[])',
  credential: 'SELECT id, organization_id AS org FROM credentials WHERE id = ANY($1::bigint[])',
  instance_group: 'SELECT id, NULL::bigint AS org FROM instance_groups WHERE id = ANY($1::bigint[])',
  team: 'SELECT id, organization_id AS org FROM teams WHERE id = ANY($1::bigint[])',
  organization: 'SELECT id, id AS org FROM organizations WHERE id = ANY($1::bigint[])',
};

function idList(value: unknown): number[] {
  if (value == null) return [];
  return (Array.isArray(value) ? value : [value]).map(Number);
}

/**
 * Throws 403 unless the caller holds the rule's permission on every target (400 for an id
 * that names nothing). `field` names the link in the message.
 */
export async function requireLink(db: Queryable, grants: Grants, kind: string, field: string, targetIds: number[]): Promise<void> {
  const rule = LINKS[kind]?.[field];
  if (!rule) throw new Error(`no link rule for ${kind}.${field}`);
  if (grants.superuser || !targetIds.length) return;
  const found = await loadTargets(db, rule, targetIds);
  for (const id of targetIds) {
    const t = found.get(id);
    if (!t) throw badRequest({ [field]: [`Invalid pk "${id}" - object does not exist.`] });
    const perms = rule.of ? grants.perms(t.roleType, null, t.id) : grants.perms(t.roleType, t.roleId, t.org);
    if (t.perm === null || !perms.has(t.perm)) {
      throw new HttpError(403, { detail: `You do not have ${describePerm(rule)} permission on the ${rule.target.replace(/_/g, ' ')} ${id} (${field}).` });
    }
  }
}

function describePerm(rule: LinkRule): string {
  if (rule.target === 'unified_job_template') return 'start';
  return rule.of ? `${rule.of.replace(/_/g, ' ')} admin` : rule.perm;
}

/**
 * Checks the links a write sets: `data` holds the fields being written (ids, or id lists for
 * `many` rules), `current` the object as stored (undefined on create; for `many` rules the
 * ids linked now). As AWX's check_related: an unchanged link is not checked again; a changed
 * one needs the permission on the new target and on the one it replaces, so a link nobody
 * present may use is not silently swapped either. A launch replaces nothing stored: with
 * `prompts`, `current` is the template's own links, which only make equal prompts free.
 */
export async function requireLinks(db: Queryable, grants: Grants, kind: string, data: Row, current?: Row,
  opts: { prompts?: boolean } = {}): Promise<void> {
  if (grants.superuser) return;
  for (const [field, rule] of Object.entries(LINKS[kind] ?? {})) {
    if (data[field] === undefined) continue;
    if (rule.many) {
      const linked = new Set(idList(current?.[field]));
      await requireLink(db, grants, kind, field, idList(data[field]).filter((id) => !linked.has(id)));
      continue;
    }
    const next = data[field] == null ? null : Number(data[field]);
    const before = current?.[field] == null ? null : Number(current[field]);
    if (current && next === before) continue;
    if (current && rule.fixed) throw new HttpError(403, { detail: `Unable to change ${field} on a ${kind.replace(/_/g, ' ')}.` });
    await requireLink(db, grants, kind, field, [next, opts.prompts ? null : before].filter((id): id is number => id !== null));
  }
}

/**
 * AWX's UserAccess.can_admin: a superuser administers anyone; otherwise never a superuser or
 * a system auditor, and only a user all of whose organizations the caller administers. A
 * user's organizations are those of every object they hold a role on, directly or through a
 * team (USER_ORGS_SQL) — stricter than AWX, which counts memberships only: resetting the
 * password of someone who may use another organization's inventory would hand that use to
 * the admin. A user with no organization (an orphan) is administered by superusers only,
 * except that `allowOrphans` lets an organization admin take one into their organization.
 */
export interface UserTarget { id: number; is_superuser: boolean; is_system_auditor: boolean; orgs: number[] }

export function mayAdminUser(grants: Grants, target: UserTarget, opts: { allowOrphans?: boolean } = {}): boolean {
  if (grants.superuser) return true;
  if (target.is_superuser || target.is_system_auditor) return false;
  if (!target.orgs.length) return !!opts.allowOrphans;
  const adminOf = new Set(grants.ids('organization', 'admin'));
  return target.orgs.every((o) => adminOf.has(o));
}

/** SQL: the organization ids (bigint[]) of the user whose id is `userExpr` (see mayAdminUser). */
export function userOrgsSql(userExpr: string): string {
  return `ARRAY(SELECT DISTINCT o FROM (SELECT CASE ur.resource_type WHEN 'organization' THEN ur.resource_id
      WHEN 'team' THEN (SELECT organization_id FROM teams WHERE id = ur.resource_id)
      WHEN 'project' THEN (SELECT organization_id FROM projects WHERE id = ur.resource_id)
      WHEN 'inventory' THEN (SELECT organization_id FROM inventories WHERE id = ur.resource_id)
      WHEN 'job_template' THEN (SELECT organization_id FROM job_templates WHERE id = ur.resource_id)
      WHEN 'credential' THEN (SELECT organization_id FROM credentials WHERE id = ur.resource_id) END AS o
    FROM rbac_user_roles ur WHERE ur.user_id = ${userExpr}) x WHERE o IS NOT NULL)`;
}

/** Throws 403 unless the caller may administer the user (400 when there is no such user). */
export async function requireUserAdmin(db: Queryable, grants: Grants, userId: number, opts: { allowOrphans?: boolean } = {}): Promise<void> {
  if (grants.superuser) return;
  const { rows: [u] } = await db.query<{ is_superuser: boolean; is_system_auditor: boolean; orgs: string[] }>(
    `SELECT is_superuser, is_system_auditor, ${userOrgsSql('$1')} AS orgs FROM users WHERE id = $1`, [userId]);
  if (!u) throw badRequest({ id: [`Invalid pk "${userId}" - object does not exist.`] });
  if (!mayAdminUser(grants, { id: userId, is_superuser: u.is_superuser, is_system_auditor: u.is_system_auditor, orgs: u.orgs.map(Number) }, opts)) {
    throw new HttpError(403, { detail: 'You do not have permission to administer this user.' });
  }
}

/**
 * AWX's RoleAccess for granting a role: an organization's member and admin roles make
 * their holder the organization's (and so administrable by its admins), so they go only to
 * a user the caller may administer (an orphan included), never to a team but by a superuser.
 */
export async function requireRoleGrant(db: Queryable, grants: Grants, roleId: number, holder: { user: number } | { team: number }): Promise<void> {
  if (grants.superuser) return;
  const { rows: [role] } = await db.query<{ resource_type: string; role_field: string }>(
    'SELECT resource_type, role_field FROM rbac_roles WHERE id = $1', [roleId]);
  if (role?.resource_type !== 'organization' || !['admin_role', 'member_role'].includes(role.role_field)) return;
  if ('team' in holder) throw new HttpError(403, { detail: 'Only a superuser gives a team an organization\'s member or admin role.' });
  await requireUserAdmin(db, grants, holder.user, { allowOrphans: true });
}
