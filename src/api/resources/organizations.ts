import { hashPassword } from '../../security/passwords.js';
import { mayAdminUser, requireLinks, userOrgsSql } from '../access.js';
import { forgetUser } from '../auth.js';
import { settingOnSql } from '../../db/settings.js';
import { requireEnvironmentRead } from './execution-environments.js';
import { badRequest, forbidden } from '../http.js';
import { defineResource, type Row } from '../engine/resource.js';
import { base, bool, fk, grantRole, named, ro, text } from './common.js';

/** Organizations, users and teams: the identity side of AWX. */
export const organizations = defineResource({
  key: 'organizations', type: 'organization', table: 'organizations',
  fields: { ...named, max_hosts: { type: 'int', writable: true }, default_environment: fk('execution_environments') },
  search: ['name', 'description'],
  namedUrl: ['name'],
  objectRoles: undefined,
  access: { roleType: 'organization', orgExpr: 't.id' },
  // OrganizationAccess.can_change: a default environment the caller can read.
  prepare: async (ctx, _db, data, existing, caller) => {
    await requireEnvironmentRead(ctx.pool, caller.grants, 'default_environment', data.default_environment, existing?.default_environment);
    return data;
  },
  related: (r) => {
    const u = `/api/v2/organizations/${r.id}/`;
    return Object.fromEntries(['users', 'admins', 'teams', 'projects', 'inventories', 'job_templates', 'credentials',
      'notification_templates', 'notification_templates_started', 'notification_templates_success', 'notification_templates_error',
      'notification_templates_approvals', 'instance_groups', 'applications', 'activity_stream', 'object_roles', 'access_list']
      .map((k) => [k, `${u}${k}/`]));
  },
  extraSummary: async (ctx, rows) => {
    const ids = rows.map((r) => r.id);
    const { rows: counts } = await ctx.pool.query(
      `SELECT o.id,
         (SELECT count(*) FROM rbac_user_roles ur WHERE ur.resource_type = 'organization' AND ur.resource_id = o.id AND ur.role_field = 'member_role')::int AS users,
         (SELECT count(*) FROM rbac_user_roles ur WHERE ur.resource_type = 'organization' AND ur.resource_id = o.id AND ur.role_field = 'admin_role')::int AS admins,
         (SELECT count(*) FROM teams WHERE organization_id = o.id)::int AS teams,
         (SELECT count(*) FROM inventories WHERE organization_id = o.id)::int AS inventories,
         (SELECT count(*) FROM projects WHERE organization_id = o.id)::int AS projects,
         (SELECT count(*) FROM job_templates WHERE organization_id = o.id)::int AS job_templates
       FROM organizations o WHERE o.id = ANY($1::bigint[])`, [ids]);
    const byId = new Map(counts.map((c) => [c.id, c]));
    for (const r of rows) {
      const { id: _id, ...c } = byId.get(r.id) ?? {};
      (r.summary_fields as Row).related_field_counts = c;
    }
  },
});
organizations.objectRoles = ['admin_role', 'execute_role', 'project_admin_role', 'inventory_admin_role', 'credential_admin_role',
  'workflow_admin_role', 'notification_admin_role', 'job_template_admin_role', 'execution_environment_admin_role',
  'auditor_role', 'member_role', 'read_role', 'approval_role'];

export const users = defineResource({
  key: 'users', type: 'user', table: 'users',
  fields: {
    ...base,
    username: { type: 'text', writable: true, required: true, maxLength: 150 },
    first_name: text({ maxLength: 150 }), last_name: text({ maxLength: 150 }), email: text({ maxLength: 254 }),
    is_superuser: bool(), is_system_auditor: bool(),
    password: { type: 'text', writable: true, writeOnly: true },
    last_login: ro('time'), ldap_dn: ro('text'),
    // Set by POST /organizations/N/users/: the organization the new user joins.
    organization: { type: 'int', writable: true, writeOnly: true, col: '' },
  },
  search: ['username', 'first_name', 'last_name', 'email'],
  namedUrl: ['username'],
  summary: ['id', 'username', 'first_name', 'last_name'],
  defaultOrder: 'username',
  accessSelect: `${userOrgsSql('t.id')} AS "_orgs"`,
  access: {
    roleType: 'user', orgExpr: null,
    // AWX's UserAccess.can_change: themselves, or whoever may administer them (mayAdminUser).
    rowAdmin: (g, row) => row.id === g.user.id || mayAdminUser(g, { id: row.id as number, is_superuser: !!row.is_superuser,
      is_system_auditor: !!row.is_system_auditor, orgs: ((row._orgs ?? []) as unknown[]).map(Number) }),
    // AWX's UserAccess.can_delete: nobody deletes their own account.
    mayDelete: (g, row) => row.id !== g.user.id,
    // AWX's UserAccess: a user sees themself and the users of the organizations they belong to.
    // AWX's UserAccess.filtered_queryset: an organization's admin or auditor sees every user
    // while ORG_ADMINS_CAN_SEE_ALL_USERS is on (the default), else the members of their organizations.
    readSql: (g, p) => `(t.id = ${p.push(g.user.id)} OR t.id IN (SELECT ur.user_id FROM rbac_user_roles ur
      WHERE ur.resource_type = 'organization' AND ur.resource_id = ANY(${p.push(g.memberOrgs())}::bigint[]))${
  g.roles.some((r) => r.type === 'organization' && (r.field === 'admin_role' || r.field === 'auditor_role'))
    ? ` OR ${settingOnSql('ORG_ADMINS_CAN_SEE_ALL_USERS', true)}` : ''})`,
    // An organization admin creates users into an organization they administer (POST
    // /organizations/N/users/, which sets `organization`; its link rule checks the admin
    // role). A user created without one would be an orphan its creator could neither see
    // nor administer, so only superusers create those.
    canCreate: (_ctx, g, d) => g.superuser || d.organization != null,
  },
  related: (r) => {
    const u = `/api/v2/users/${r.id}/`;
    return Object.fromEntries(['teams', 'organizations', 'admin_of_organizations', 'projects', 'credentials', 'roles',
      'activity_stream', 'access_list', 'tokens', 'personal_tokens', 'authorized_tokens'].map((k) => [k, `${u}${k}/`]));
  },
  present: (_row, out) => {
    out.password = '$encrypted$';
    out.external_account = out.ldap_dn ? 'ldap' : null;
    out.auth = [];
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    if (existing) delete data.organization;
    await requireLinks(ctx.pool, caller.grants, 'user', data, existing);
    if ((data.is_superuser !== undefined || data.is_system_auditor !== undefined) && !caller.grants.superuser) {
      const same = existing && data.is_superuser === existing.is_superuser && (data.is_system_auditor ?? existing.is_system_auditor) === existing.is_system_auditor;
      if (!same && (data.is_superuser || data.is_system_auditor)) throw forbidden();
    }
    if (typeof data.password === 'string') {
      if (data.password === '$encrypted$') delete data.password;
      else if (data.password === '') throw badRequest({ password: ['This field may not be blank.'] });
      else {
        data.password = await hashPassword(data.password);
        if (existing) forgetUser(existing.id as number);
      }
    }
    return data;
  },
  afterCreate: async (_ctx, db, id, data) => {
    if (data.organization != null) await grantRole(db, 'organization', data.organization as number, 'member_role', id);
  },
});

export const teams = defineResource({
  key: 'teams', type: 'team', table: 'teams',
  fields: { ...named, organization: fk('organizations', { required: true }) },
  search: ['name', 'description'],
  namedUrl: ['name', 'organization.name'],
  access: { roleType: 'team' },
  objectRoles: ['admin_role', 'member_role', 'read_role'],
  prepare: async (ctx, _db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'team', data, existing);
    return data;
  },
  related: (r) => {
    const u = `/api/v2/teams/${r.id}/`;
    return Object.fromEntries(['users', 'roles', 'projects', 'credentials', 'activity_stream', 'access_list', 'object_roles']
      .map((k) => [k, `${u}${k}/`]));
  },
  afterCreate: async (_ctx, db, id, _data, caller) => {
    if (!caller.grants.superuser) await grantRole(db, 'team', id, 'admin_role', caller.user.id);
  },
});
