import { requireLink, requireLinks, requireRoleGrant, requireUserAdmin } from '../access.js';
import { inventoryHostsSql } from '../../db/host-filter.js';
import type { ApiContext } from '../context.js';
import { badRequest, type Router } from '../http.js';
import { registerResource, registerSubList, type Association } from '../engine/routes.js';
import type { Caller, Queryable, ResourceDef } from '../engine/resource.js';
import { ensureObjectRoles } from '../engine/serialize.js';
import { activityStream } from '../resources/activity-stream.js';
import { workflowJobs, workflowJobTemplates } from '../resources/workflows.js';
import { grantRole, holdsRole, revokeRole } from '../resources/common.js';
import { credentials, credentialTypes } from '../resources/credentials.js';
import { executionEnvironments } from '../resources/execution-environments.js';
import { credentialInputSources } from '../resources/credential-input-sources.js';
import { groups, hosts, inventories, inventorySources } from '../resources/inventories.js';
import { constructedInventories } from '../resources/constructed-inventories.js';
import { inputInventories } from '../resources/constructed-source.js';
import { jobHostSummaries } from '../resources/job-host-summaries.js';
import { jobTemplates } from '../resources/job-templates.js';
import { organizations, teams, users } from '../resources/organizations.js';
import { projects } from '../resources/projects.js';
import { roles } from '../resources/roles.js';
import { tokens } from '../resources/tokens.js';
import { applications } from '../resources/applications.js';
import { adHocCommands, inventoryUpdates, jobs, projectUpdates, systemJobs, unifiedJobs } from '../resources/unified-jobs.js';
import { registerScheduleLists } from './schedule-lists.js';
import { instanceGroups, instances, labels, notifications, notificationTemplates, schedules, systemJobTemplates, unifiedJobTemplates } from '../resources/cluster.js';

/** Every resource's collection and detail routes, and the sub-lists AWX clients use. */
function roleMembership(type: string, field: string): Association {
  return {
    table: 'rbac_role_users', parentCol: '', childCol: '',
    link: async (db, parentId, userId, caller) => {
      if (type === 'organization') await requireUserAdmin(db, caller.grants, userId, { allowOrphans: true });
      await grantRole(db, type, parentId, field, userId);
    },
    unlink: (db, parentId, userId) => revokeRole(db, type, parentId, field, userId),
  };
}

function roleHolders(table: 'rbac_role_users' | 'rbac_role_teams', col: 'user_id' | 'team_id'): Association {
  return {
    table, parentCol: 'role_id', childCol: col,
    // Granting a role needs admin of its object (or of the object's organization): checked on the role row.
    link: async (db: Queryable, roleId: number, childId: number, caller: Caller) => {
      await requireRoleGrant(db, caller.grants, roleId, col === 'user_id' ? { user: childId } : { team: childId });
      await db.query(`INSERT INTO ${table} (role_id, ${col}) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [roleId, childId]);
    },
  };
}

/** `/users/N/roles/` and `/teams/N/roles/`: the same grants seen from the holder's side. */
function heldRoles(table: 'rbac_role_users' | 'rbac_role_teams', col: 'user_id' | 'team_id'): Association {
  return {
    table, parentCol: col, childCol: 'role_id', childPerm: 'admin',
    link: async (db: Queryable, holderId: number, roleId: number, caller: Caller) => {
      await requireRoleGrant(db, caller.grants, roleId, col === 'user_id' ? { user: holderId } : { team: holderId });
      await db.query(`INSERT INTO ${table} (role_id, ${col}) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [roleId, holderId]);
    },
  };
}

/** A link table whose rows are links of access.ts's LINKS: associating checks the rule on the child. */
function ruledLinks(table: string, parentCol: string, childCol: string, kind: string, field: string): Association {
  return {
    table, parentCol, childCol,
    link: async (db, parentId, childId, caller) => {
      await requireLink(db, caller.grants, kind, field, [childId]);
      await db.query(`INSERT INTO ${table} (${parentCol}, ${childCol}) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [parentId, childId]);
    },
  };
}

/** Group memberships stay within one inventory (AWX: "Cannot associate two items from different inventories."). */
function sameInventory(table: 'group_hosts' | 'group_children', childCol: 'host_id' | 'child_id', childTable: 'hosts' | 'groups'): Association {
  const parentCol = table === 'group_hosts' ? 'group_id' : 'parent_id';
  return {
    table, parentCol, childCol,
    link: async (db, groupId, childId) => {
      const { rowCount } = await db.query(
        `SELECT 1 FROM groups g JOIN ${childTable} c ON c.inventory_id = g.inventory_id WHERE g.id = $1 AND c.id = $2`, [groupId, childId]);
      if (!rowCount) throw badRequest({ msg: 'Cannot associate two items from different inventories.' });
      await db.query(`INSERT INTO ${table} (${parentCol}, ${childCol}) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [groupId, childId]);
    },
  };
}

/** AWX's NotificationAttachMixin: attaching a notification template needs admin of it, besides admin of the object. */
export function attachments(resourceType: string, event: string): Association {
  return { table: 'notification_template_attachments', parentCol: 'resource_id', childCol: 'notification_template_id',
    extra: { resource_type: resourceType, on_event: event }, childPerm: 'admin' };
}

export function registerResources(router: Router<ApiContext>): void {
  // Sub-lists first: their paths are longer, but registering them early keeps the table readable.
  const orgChild = (p: string) => `t.organization_id = ${p}`;
  registerSubList(router, organizations, 'users', users, { condition: (p) => holdsRole('organization', 'member_role', p),
    associate: roleMembership('organization', 'member_role'), createWith: (o) => ({ organization: o.id }) });
  registerSubList(router, organizations, 'admins', users, { condition: (p) => holdsRole('organization', 'admin_role', p),
    associate: roleMembership('organization', 'admin_role') });
  registerSubList(router, organizations, 'teams', teams, { condition: orgChild, createWith: (o) => ({ organization: o.id }) });
  registerSubList(router, organizations, 'projects', projects, { condition: orgChild, createWith: (o) => ({ organization: o.id }) });
  registerSubList(router, organizations, 'inventories', inventories, { condition: orgChild, createWith: (o) => ({ organization: o.id }) });
  registerSubList(router, organizations, 'job_templates', jobTemplates, { condition: orgChild });
  registerSubList(router, organizations, 'credentials', credentials, { condition: orgChild });
  registerSubList(router, organizations, 'notification_templates', notificationTemplates, { condition: orgChild, createWith: (o) => ({ organization: o.id }) });
  registerSubList(router, organizations, 'instance_groups', instanceGroups, {
    condition: (p) => `t.id IN (SELECT instance_group_id FROM organization_instance_groups WHERE organization_id = ${p})`,
    associate: ruledLinks('organization_instance_groups', 'organization_id', 'instance_group_id', 'organization', 'instance_groups') });
  // POST to both is routes/tokens.ts's: they answer secrets once.
  registerSubList(router, organizations, 'applications', applications, { condition: orgChild });
  registerSubList(router, applications, 'tokens', tokens, { condition: (p) => `t.application_id = ${p}` });
  registerSubList(router, teams, 'users', users, { condition: (p) => holdsRole('team', 'member_role', p), associate: roleMembership('team', 'member_role') });
  registerSubList(router, users, 'teams', teams, { condition: (p) => `t.id IN (SELECT resource_id FROM rbac_user_roles WHERE resource_type = 'team' AND role_field = 'member_role' AND user_id = ${p})` });
  registerSubList(router, users, 'organizations', organizations, { condition: (p) => `t.id IN (SELECT resource_id FROM rbac_user_roles WHERE resource_type = 'organization' AND role_field = 'member_role' AND user_id = ${p})` });
  registerSubList(router, users, 'admin_of_organizations', organizations, { condition: (p) => `t.id IN (SELECT resource_id FROM rbac_user_roles WHERE resource_type = 'organization' AND role_field = 'admin_role' AND user_id = ${p})` });
  registerSubList(router, users, 'roles', roles, { condition: (p) => `t.id IN (SELECT role_id FROM rbac_user_roles WHERE user_id = ${p})`,
    associate: heldRoles('rbac_role_users', 'user_id') });
  registerSubList(router, teams, 'roles', roles, { condition: (p) => `t.id IN (SELECT role_id FROM rbac_role_teams WHERE team_id = ${p})`,
    associate: heldRoles('rbac_role_teams', 'team_id') });
  registerSubList(router, roles, 'users', users, { condition: (p) => `t.id IN (SELECT user_id FROM rbac_role_users WHERE role_id = ${p})`, associate: roleHolders('rbac_role_users', 'user_id') });
  registerSubList(router, roles, 'teams', teams, { condition: (p) => `t.id IN (SELECT team_id FROM rbac_role_teams WHERE role_id = ${p})`, associate: roleHolders('rbac_role_teams', 'team_id') });
  for (const def of [organizations, teams, projects, inventories, jobTemplates, credentials, instanceGroups]) registerRoleLists(router, def);

  registerSubList(router, inventories, 'hosts', hosts, {
    // A smart inventory's hosts are those its filter selects (db/host-filter.ts).
    condition: (p, inv, params) => inventoryHostsSql(inv, p, params),
    createWith: (i) => ({ inventory: i.id }),
  });
  registerSubList(router, inventories, 'input_inventories', inventories, {
    condition: (p) => `t.id IN (SELECT input_inventory_id FROM inventory_input_inventories WHERE constructed_inventory_id = ${p})`,
    associate: inputInventories });
  registerSubList(router, inventories, 'groups', groups, { condition: (p) => `t.inventory_id = ${p}`, createWith: (i) => ({ inventory: i.id }) });
  registerSubList(router, inventories, 'root_groups', groups, { condition: (p) => `t.inventory_id = ${p} AND NOT EXISTS (SELECT 1 FROM group_children gc WHERE gc.child_id = t.id)` });
  registerSubList(router, inventories, 'inventory_sources', inventorySources, { condition: (p) => `t.inventory_id = ${p}`, createWith: (i) => ({ inventory: i.id }) });
  registerSubList(router, inventories, 'job_templates', jobTemplates, { condition: (p) => `t.inventory_id = ${p}` });
  registerSubList(router, inventories, 'instance_groups', instanceGroups, {
    condition: (p) => `t.id IN (SELECT instance_group_id FROM inventory_instance_groups WHERE inventory_id = ${p})`,
    associate: ruledLinks('inventory_instance_groups', 'inventory_id', 'instance_group_id', 'inventory', 'instance_groups') });
  registerSubList(router, groups, 'hosts', hosts, { condition: (p) => `t.id IN (SELECT host_id FROM group_hosts WHERE group_id = ${p})`,
    associate: sameInventory('group_hosts', 'host_id', 'hosts') });
  registerSubList(router, groups, 'children', groups, { condition: (p) => `t.id IN (SELECT child_id FROM group_children WHERE parent_id = ${p})`,
    associate: sameInventory('group_children', 'child_id', 'groups') });
  registerSubList(router, hosts, 'groups', groups, { condition: (p) => `t.id IN (SELECT group_id FROM group_hosts WHERE host_id = ${p})` });
  registerSubList(router, inventorySources, 'inventory_updates', inventoryUpdates, { condition: (p) => `t.unified_job_template_id = ${p}` });

  registerSubList(router, projects, 'project_updates', projectUpdates, { condition: (p) => `t.unified_job_template_id = ${p}` });
  registerScheduleLists(router);
  registerSubList(router, projects, 'schedules', schedules, { condition: (p) => `t.unified_job_template_id = ${p}` });
  registerSubList(router, jobTemplates, 'jobs', jobs, { condition: (p) => `t.unified_job_template_id = ${p}` });
  registerSubList(router, jobTemplates, 'schedules', schedules, { condition: (p) => `t.unified_job_template_id = ${p}`, createWith: (j) => ({ unified_job_template: j.id }) });
  registerSubList(router, jobTemplates, 'credentials', credentials, { condition: (p) => `t.id IN (SELECT credential_id FROM job_template_credentials WHERE job_template_id = ${p})`,
    associate: ruledLinks('job_template_credentials', 'job_template_id', 'credential_id', 'job_template', 'credentials') });
  registerSubList(router, jobTemplates, 'labels', labels, { condition: (p) => `t.id IN (SELECT label_id FROM job_template_labels WHERE job_template_id = ${p})`,
    associate: { table: 'job_template_labels', parentCol: 'job_template_id', childCol: 'label_id' } });
  registerSubList(router, jobTemplates, 'instance_groups', instanceGroups, {
    condition: (p) => `t.id IN (SELECT instance_group_id FROM job_template_instance_groups WHERE job_template_id = ${p})`,
    associate: ruledLinks('job_template_instance_groups', 'job_template_id', 'instance_group_id', 'job_template', 'instance_groups') });
  for (const [def, type] of [[jobTemplates, 'job_template'], [projects, 'project'], [inventorySources, 'inventory_source'], [organizations, 'organization']] as const) {
    for (const event of ['started', 'success', 'error', ...(type === 'organization' ? ['approvals'] : [])]) {
      registerSubList(router, def, `notification_templates_${event}`, notificationTemplates, {
        condition: (p) => `t.id IN (SELECT notification_template_id FROM notification_template_attachments WHERE resource_type = '${type}' AND on_event = '${event}' AND resource_id = ${p})`,
        associate: attachments(type, event) });
    }
  }
  registerSubList(router, credentials, 'input_sources', credentialInputSources, { condition: (p) => `t.target_credential_id = ${p}`,
    createWith: (c) => ({ target_credential: c.id }) });
  registerSubList(router, jobs, 'credentials', credentials, { condition: (p) => `t.id IN (SELECT credential_id FROM unified_job_credentials WHERE unified_job_id = ${p})` });
  registerSubList(router, jobs, 'job_host_summaries', jobHostSummaries, { condition: (p) => `t.job_id = ${p}` });
  registerSubList(router, hosts, 'job_host_summaries', jobHostSummaries, { condition: (p) => `t.host_id = ${p}` });
  for (const kind of [jobs, projectUpdates, inventoryUpdates, adHocCommands, systemJobs]) {
    registerSubList(router, kind, 'notifications', notifications, { condition: (p) => `t.unified_job_id = ${p}` });
  }
  registerSubList(router, notificationTemplates, 'notifications', notifications, { condition: (p) => `t.notification_template_id = ${p}` });
  registerSubList(router, instanceGroups, 'instances', instances, { condition: (p) => `t.id IN (SELECT instance_id FROM instance_group_instances WHERE instance_group_id = ${p})`,
    associate: { table: 'instance_group_instances', parentCol: 'instance_group_id', childCol: 'instance_id' } });
  registerSubList(router, instances, 'peers', instances, { condition: (p) => `t.id IN (SELECT peer_id FROM instance_peers WHERE instance_id = ${p})` });
  registerSubList(router, instances, 'instance_groups', instanceGroups, { condition: (p) => `t.id IN (SELECT instance_group_id FROM instance_group_instances WHERE instance_id = ${p})` });

  // Read-only lists AWX serves beside its objects.
  registerSubList(router, projects, 'scm_inventory_sources', inventorySources, { condition: (p) => `t.source = 'scm' AND t.source_project_id = ${p}` });
  registerSubList(router, projects, 'inventories', inventories, {
    condition: (p) => `t.id IN (SELECT s.inventory_id FROM inventory_sources s WHERE s.source = 'scm' AND s.source_project_id = ${p})` });
  registerSubList(router, inventorySources, 'schedules', schedules, { condition: (p) => `t.unified_job_template_id = ${p}`,
    createWith: (s) => ({ unified_job_template: s.id }) });
  registerSubList(router, instanceGroups, 'jobs', unifiedJobs, { condition: (p) => `t.instance_group_id = ${p}` });
  registerSubList(router, instances, 'jobs', unifiedJobs, { condition: (p) => `t.execution_node = (SELECT i.hostname FROM instances i WHERE i.id = ${p})` });
  // A host's groups and their ancestors; a group's hosts and its descendants' (AWX's all_groups, all_hosts).
  registerSubList(router, hosts, 'all_groups', groups, { condition: (p) => `t.id IN (WITH RECURSIVE up(id) AS (
      SELECT group_id FROM group_hosts WHERE host_id = ${p} UNION SELECT c.parent_id FROM group_children c JOIN up ON c.child_id = up.id)
    SELECT id FROM up)` });
  registerSubList(router, groups, 'all_hosts', hosts, { condition: (p) => `t.id IN (WITH RECURSIVE down(id) AS (
      SELECT ${p}::bigint UNION SELECT c.child_id FROM group_children c JOIN down ON c.parent_id = down.id)
    SELECT gh.host_id FROM group_hosts gh JOIN down ON gh.group_id = down.id)` });

  // `/<resource>/N/activity_stream/`: the entries naming the object, as object1 or object2
  // (the activity stream itself is read by superusers and system auditors only).
  for (const def of [organizations, users, teams, credentialTypes, credentials, projects, inventories, hosts, groups, inventorySources,
    jobTemplates, jobs, adHocCommands, tokens, applications, workflowJobTemplates, workflowJobs]) {
    const type = def.activityName ?? def.type;
    registerSubList(router, def, 'activity_stream', activityStream, {
      condition: (p) => `((t.object1 = '${type}' AND t.object1_id = ${p}) OR (t.object2 = '${type}' AND t.object2_id = ${p}))` });
  }

  for (const def of [organizations, users, teams, credentialTypes, credentials, credentialInputSources, projects, inventories, constructedInventories, hosts, groups, inventorySources,
    jobTemplates, jobs, projectUpdates, inventoryUpdates, adHocCommands, systemJobs, unifiedJobs, unifiedJobTemplates,
    systemJobTemplates, schedules, notificationTemplates, notifications, instances, instanceGroups, labels, roles, activityStream, tokens, applications, jobHostSummaries, executionEnvironments]) {
    registerResource(router, def);
  }
}
export type { Caller };

/** `object_roles` (made if missing: roles are made lazily) and `access_list` of a resource with roles. */
export function registerRoleLists(router: Router<ApiContext>, def: ResourceDef): void {
  registerSubList(router, def, 'object_roles', roles, {
    condition: (p) => `t.resource_type = '${def.type}' AND t.resource_id = ${p}`,
    beforeList: (ctx, id) => ensureObjectRoles(ctx, def, [id]) });
  registerSubList(router, def, 'access_list', users, {
    condition: (p) => `t.id IN (SELECT user_id FROM rbac_user_roles WHERE resource_type = '${def.type}' AND resource_id = ${p})` });
}
