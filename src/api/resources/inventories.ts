import { requireLinks } from '../access.js';
import { hostFilterSql, inventoryHostsSql, parseHostFilter } from '../../db/host-filter.js';
import { InvalidFilter, Params } from '../../db/lookups.js';
import { defineResource, type Queryable, type Row } from '../engine/resource.js';
import { badRequest, HttpError } from '../http.js';
import { hostLimitProblem } from '../../db/host-limit.js';
import { bool, fk, grantRole, int, named, ro, text, varsText } from './common.js';
import { sourcePathInProject } from './confined-paths.js';
import { checkInventorySource } from './inventory-source-rules.js';
import { CONSTRUCTED_SOURCE_FIELDS, checkConstructedSourceFields, constructedPluginOptions, constructedRelated, ensureConstructedSource } from './constructed-source.js';

/** Inventories and what hangs off them (hosts, groups, inventory sources): access follows the inventory. */
const INV_ORG = '(SELECT i.organization_id FROM inventories i WHERE i.id = t.inventory_id)';

export function yamlOrJsonVariables(data: Row): Row {
  if (data.variables !== undefined) data.variables = varsText('variables', data.variables);
  return data;
}

export const inventories = defineResource({
  key: 'inventories', type: 'inventory', table: 'inventories',
  fields: {
    ...named,
    organization: fk('organizations', { required: true }),
    kind: text({ choices: ['', 'smart', 'constructed'] }), host_filter: text({ nullAs: null }), variables: { type: 'text', writable: true },
    prevent_instance_group_fallback: bool(), pending_deletion: ro('bool'),
    total_hosts: ro('int', { col: '(SELECT count(*) FROM hosts h WHERE h.inventory_id = t.id)::int' }),
    total_groups: ro('int', { col: '(SELECT count(*) FROM groups g WHERE g.inventory_id = t.id)::int' }),
    total_inventory_sources: ro('int', { col: '(SELECT count(*) FROM inventory_sources s WHERE s.inventory_id = t.id)::int' }),
    has_active_failures: ro('bool', { col: 'false' }), has_inventory_sources: ro('bool', { col: 'EXISTS (SELECT 1 FROM inventory_sources s WHERE s.inventory_id = t.id)' }),
  },
  search: ['name', 'description'],
  namedUrl: ['name', 'organization.name'],
  access: { roleType: 'inventory' },
  objectRoles: ['admin_role', 'update_role', 'adhoc_role', 'use_role', 'read_role'],
  related: (r) => {
    const u = `/api/v2/inventories/${r.id}/`;
    return Object.fromEntries(['hosts', 'groups', 'root_groups', 'variable_data', 'script', 'tree', 'inventory_sources',
      'update_inventory_sources', 'activity_stream', 'job_templates', 'ad_hoc_commands', 'access_list', 'object_roles',
      'instance_groups', 'copy', 'labels'].map((k) => [k, `${u}${k}/`]).concat(Object.entries(constructedRelated(r))));
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'inventory', data, existing);
    checkKind(data, existing);
    return yamlOrJsonVariables(data);
  },
  afterCreate: async (_ctx, db, id, data, caller) => {
    if (data.kind === 'constructed') await ensureConstructedSource(db, id);
    if (!caller.grants.superuser) await grantRole(db, 'inventory', id, 'admin_role', caller.user.id);
  },
  // A smart inventory holds no hosts of its own: its total is the hosts its filter selects.
  extraSummary: async (ctx, rows) => {
    for (const r of rows.filter((x) => x.kind === 'smart' && x.host_filter)) {
      const params = new Params();
      const cond = inventoryHostsSql(r, `${params.push(r.id)}::bigint`, params);
      r.total_hosts = Number((await ctx.pool.query(`SELECT count(*) AS n FROM hosts t WHERE ${cond}`, params.values)).rows[0].n);
    }
  },
});

/**
 * AWX's inventory kinds: '' (hosts of its own), 'smart' (the hosts `host_filter` selects,
 * which it must name and which must parse) and 'constructed' (built from input inventories by
 * its constructed source: resources/constructed-inventories.ts); `host_filter` means nothing
 * but for smart ones.
 */
function checkKind(data: Row, existing: Row | undefined): void {
  const kind = (data.kind ?? existing?.kind ?? '') as string;
  if (existing && data.kind !== undefined && data.kind !== existing.kind) throw badRequest({ kind: ['An inventory\'s kind cannot be changed.'] });
  const filter = (data.host_filter !== undefined ? data.host_filter : existing?.host_filter) as string | null | undefined;
  if (kind === 'smart' && !filter) throw badRequest({ host_filter: ['Smart inventories must specify host_filter'] });
  if (kind !== 'smart' && filter) throw badRequest({ host_filter: ['host_filter applies to smart inventories only (kind: "smart").'] });
  if (kind === 'smart' && data.host_filter !== undefined) {
    try { hostFilterSql(parseHostFilter(filter as string), new Params()); } catch (err) {
      if (err instanceof InvalidFilter) throw badRequest({ host_filter: [err.message] });
      throw err;
    }
  }
}

/**
 * Hosts, groups and sources belong to inventories of the default kind (AWX: "Cannot create
 * Host for Smart or Constructed Inventories"); a constructed inventory's hosts and groups are
 * its source's import alone.
 */
async function notSmart(ctx: { pool: Queryable }, data: Row, what: string): Promise<void> {
  if (data.inventory == null) return;
  const { rows } = await ctx.pool.query('SELECT kind FROM inventories WHERE id = $1', [data.inventory]);
  if (rows[0]?.kind === 'smart' || rows[0]?.kind === 'constructed') {
    throw badRequest({ inventory: [`Cannot create ${what} for Smart or Constructed Inventories`] });
  }
}

/**
 * AWX's InventorySourceSerializer: `constructed` is no source a user creates (each constructed
 * inventory has its own, made with it), and on that source only the fields the constructed
 * inventory shows may change. Its source_vars are the plugin's options, not an environment.
 */
function checkConstructedSource(data: Row, existing: Row | undefined): boolean {
  if (existing?.source === 'constructed') {
    for (const k of Object.keys(data)) {
      if (!(CONSTRUCTED_SOURCE_FIELDS as readonly string[]).includes(k) && JSON.stringify(data[k]) !== JSON.stringify(existing[k])) {
        throw badRequest({ error: `Cannot change field '${k}' on a constructed inventory source.` });
      }
    }
    checkConstructedSourceFields(data);
    if (data.source_vars !== undefined) constructedPluginOptions(String(data.source_vars));
    return true;
  }
  if (data.source === 'constructed') throw badRequest({ source: ['constructed not a valid source for inventory'] });
  return false;
}

const inventoryChildAccess = {
  roleType: 'inventory', idExpr: 't.inventory_id', orgExpr: INV_ORG,
  canCreate: async (ctx: Parameters<NonNullable<import('../engine/resource.js').AccessRule['canCreate']>>[0], g: import('../access.js').Grants, d: Row) => {
    const { rows } = await ctx.pool.query('SELECT organization_id FROM inventories WHERE id = $1', [d.inventory]);
    return g.perms('inventory', d.inventory as number, rows[0]?.organization_id).has('admin');
  },
};

export const hosts = defineResource({
  key: 'hosts', type: 'host', table: 'hosts',
  fields: {
    ...named, inventory: fk('inventories', { required: true }), enabled: bool(), instance_id: text(), variables: text(),
    last_job: ro('int', { col: 't.last_job_id', fk: 'jobs' }), last_job_host_summary: ro('int', { col: 't.last_job_host_summary_id' }),
    has_active_failures: ro('bool', { col: 'false' }), has_inventory_sources: ro('bool', { col: 'false' }),
    ansible_facts_modified: ro('time'),
  },
  search: ['name', 'description'],
  // AWX's ?host_filter= (db/host-filter.ts): a 400 naming what does not parse, never ignored.
  queryFilters: (query, params) => {
    const filter = query.get('host_filter');
    return filter ? [hostFilterSql(parseHostFilter(filter), params)] : [];
  },
  namedUrl: ['name', 'inventory.name'],
  access: inventoryChildAccess,
  related: (r) => {
    const u = `/api/v2/hosts/${r.id}/`;
    return Object.fromEntries(['variable_data', 'groups', 'all_groups', 'job_events', 'job_host_summaries', 'activity_stream',
      'inventory_sources', 'smart_inventories', 'ad_hoc_commands', 'ad_hoc_command_events', 'insights', 'ansible_facts']
      .map((k) => [k, `${u}${k}/`]));
  },
  prepare: async (ctx, db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'host', data, existing);
    await notSmart(ctx, data, 'Host');
    const problem = existing ? undefined : await hostLimitProblem(db, data.inventory as number, [data.name as string]);
    if (problem) throw new HttpError(403, { detail: problem });
    return yamlOrJsonVariables(data);
  },
});

export const groups = defineResource({
  key: 'groups', type: 'group', table: 'groups',
  fields: { ...named, inventory: fk('inventories', { required: true }), variables: text() },
  search: ['name', 'description'],
  namedUrl: ['name', 'inventory.name'],
  access: inventoryChildAccess,
  related: (r) => {
    const u = `/api/v2/groups/${r.id}/`;
    return Object.fromEntries(['variable_data', 'hosts', 'potential_children', 'children', 'all_hosts', 'job_events',
      'job_host_summaries', 'activity_stream', 'inventory_sources', 'ad_hoc_commands'].map((k) => [k, `${u}${k}/`]));
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'group', data, existing);
    await notSmart(ctx, data, 'Group');
    return yamlOrJsonVariables(data);
  },
});

export const inventorySources = defineResource({
  key: 'inventory_sources', type: 'inventory_source', table: 'inventory_sources',
  fields: {
    ...named, inventory: fk('inventories', { required: true }),
    source: text({ choices: ['file', 'constructed', 'scm', 'ec2', 'gce', 'azure_rm', 'vmware', 'satellite6', 'openstack', 'rhv', 'controller', 'insights', 'terraform'] }),
    source_path: text(), source_project: fk('projects'), source_vars: text(), scm_branch: text(), credential: fk('credentials'),
    overwrite: bool(), overwrite_vars: bool(), update_on_launch: bool(), update_cache_timeout: int(), timeout: int(),
    verbosity: int(), limit: text(), enabled_var: text(), enabled_value: text(), host_filter: text(),
    // Refused when given (prepare): inventory updates run in the host sandbox only.
    execution_environment: { type: 'int', col: 'NULL::bigint', writable: true },
    status: ro('text'), last_job_run: ro('time'), last_job_failed: ro('bool'), last_job: ro('int', { col: 't.last_job_id' }),
  },
  search: ['name', 'description'],
  namedUrl: ['name', 'inventory.name'],
  access: { ...inventoryChildAccess },
  related: (r) => {
    const u = `/api/v2/inventory_sources/${r.id}/`;
    return Object.fromEntries(['update', 'inventory_updates', 'schedules', 'activity_stream', 'hosts', 'groups',
      'notification_templates_started', 'notification_templates_success', 'notification_templates_error', 'credentials']
      .map((k) => [k, `${u}${k}/`]));
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    if (data.execution_environment != null) {
      throw badRequest({ execution_environment: ['Playstream does not support an execution environment on inventory sources: inventory updates run in the host sandbox.'] });
    }
    delete data.execution_environment;
    await requireLinks(ctx.pool, caller.grants, 'inventory_source', data, existing);
    if (checkConstructedSource(data, existing)) return data;
    await notSmart(ctx, data, 'Inventory Source');
    const project = (data.source_project !== undefined ? data.source_project : existing?.source_project) as number | null | undefined;
    const sourcePath = (data.source_path ?? (data.source_project !== undefined ? existing?.source_path : undefined)) as string | undefined;
    if (sourcePath) await sourcePathInProject(ctx, project ?? null, sourcePath);
    await checkInventorySource(ctx.pool, data, existing);
    return data;
  },
});
void int; void ro;
