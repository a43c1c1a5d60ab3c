import YAML from 'yaml';
import { templateCredentialIds } from '../../db/credentials.js';
import { loadInventoryHosts } from '../../db/host-filter.js';
import { Params } from '../../db/lookups.js';
import { withTransaction } from '../../db/pool.js';
import { recordActivity } from '../../db/activity.js';
import { requireLinks } from '../access.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { getObject, loadRow, requireObjectPerm, resolveId } from '../engine/crud.js';
import { rowPerms } from '../engine/permissions.js';
import type { Caller, Queryable, ResourceDef, Row } from '../engine/resource.js';
import { badRequest, forbidden, jsonBody, type Router } from '../http.js';
import { notificationTemplates, previewSchedule, schedules } from '../resources/cluster.js';
import { grantRole } from '../resources/common.js';
import { credentials } from '../resources/credentials.js';
import { hosts, inventories } from '../resources/inventories.js';
import { jobTemplates } from '../resources/job-templates.js';
import { projects } from '../resources/projects.js';
import { workflowJobTemplates } from '../resources/workflows.js';
import { copyWorkflowGraph } from './workflow-copy.js';
import { launchProjectUpdate } from '../../scheduler/launch.js';

/**
 * The object actions AWX clients call besides CRUD: a notification template's `test/`,
 * schedule previews, an inventory's `script/` (the JSON ansible-inventory prints),
 * a project's `playbooks/`, and `copy/` of templates, projects, inventories, credentials
 * and notification templates.
 */
export function registerObjectActions(router: Router<ApiContext>): void {
  // AWX answers 202 with the notification's id; the dispatcher's sender delivers the
  // pending row like any other, so a test exercises the same path a job's notification does.
  router.post('/api/v2/notification_templates/:id/test/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, notificationTemplates, req.params.id);
    const nt = await requireObjectPerm(ctx, notificationTemplates, caller, id, 'admin');
    const subject = `Playstream Test Notification 1 ${ctx.config.nodeName}`;
    const { rows } = await ctx.pool.query(
      `INSERT INTO notifications (notification_template_id, notification_type, subject, body)
       VALUES ($1, $2, $3, $4) RETURNING id`, [id, nt.notification_type, subject, JSON.stringify({ body: subject })]);
    return { status: 202, body: { notification: Number(rows[0].id) } };
  });

  // Any signed-in user may preview (AWX's IsAuthenticated); the evaluation is bounded by
  // the rrule module's step budget, so a hostile rule is a 400 in milliseconds (issue #12).
  router.post('/api/v2/schedules/preview/', async (req, ctx) => {
    await requireCaller(req, ctx);
    return { status: 200, body: previewSchedule(jsonBody<Row>(req)?.rrule) };
  });
  router.get('/api/v2/schedules/preview/', async (req, ctx) => {
    await requireCaller(req, ctx);
    return { status: 200, body: { rrule: '' } };
  });
  router.get('/api/v2/schedules/:id/preview/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const row = await loadRow(ctx, schedules, caller, await resolveId(ctx, schedules, req.params.id));
    return { status: 200, body: previewSchedule(row.rrule) };
  });

  router.get('/api/v2/inventories/:id/script/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, inventories, req.params.id);
    await loadRow(ctx, inventories, caller, id);
    const hostvars = ['1', 'true'].includes(req.query.get('hostvars') ?? '');
    const towervars = ['1', 'true'].includes(req.query.get('towervars') ?? '');
    return { status: 200, body: await inventoryScript(ctx.pool, id, { hostvars, towervars }) };
  });

  // A host's facts as the last job with use_fact_cache left them (scheduler/fact-cache.ts).
  router.get('/api/v2/hosts/:id/ansible_facts/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, hosts, req.params.id);
    await loadRow(ctx, hosts, caller, id);
    const { rows } = await ctx.pool.query('SELECT ansible_facts FROM hosts WHERE id = $1', [id]);
    return { status: 200, body: rows[0]?.ansible_facts ?? {} };
  });

  router.get('/api/v2/projects/:id/playbooks/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const row = await loadRow(ctx, projects, caller, await resolveId(ctx, projects, req.params.id));
    return { status: 200, body: Array.isArray(row.playbook_files) ? row.playbook_files : [] };
  });
  router.get('/api/v2/projects/:id/inventory_files/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const row = await loadRow(ctx, projects, caller, await resolveId(ctx, projects, req.params.id));
    return { status: 200, body: Array.isArray(row.inventory_files) ? row.inventory_files : [] };
  });

  for (const spec of COPYABLE) {
    router.get(`/api/v2/${spec.def.key}/:id/copy/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const row = await loadRow(ctx, spec.def, caller, await resolveId(ctx, spec.def, req.params.id));
      return { status: 200, body: { can_copy: mayCopy(spec.def, caller, row), can_copy_without_user_input: mayCopy(spec.def, caller, row) } };
    });
    router.post(`/api/v2/${spec.def.key}/:id/copy/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const id = await resolveId(ctx, spec.def, req.params.id);
      const row = await loadRow(ctx, spec.def, caller, id);
      if (!mayCopy(spec.def, caller, row)) throw forbidden();
      // A copy makes every link of the original anew: AWX's can_copy is can_add of the same
      // fields (and can_copy_related: use of every credential).
      if (spec.linked) await requireLinks(ctx.pool, caller.grants, spec.def.type, await spec.linked(ctx.pool, id, row));
      const name = jsonBody<Row>(req)?.name;
      if (typeof name !== 'string' || name.trim() === '') throw badRequest({ name: ['This field is required.'] });
      if (name.length > 512) throw badRequest({ name: ['Ensure this field has no more than 512 characters.'] });
      const newId = await withTransaction(ctx.pool, async (db) => {
        const copied = await copyRow(db, spec.def.table, id, name);
        for (const link of spec.links ?? []) await copyLinks(db, link, id, copied);
        await spec.after?.(db, id, copied, caller);
        if (!caller.grants.superuser) await grantRole(db, spec.def.type, copied, 'admin_role', caller.user.id);
        await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: spec.def.activityName ?? spec.def.type,
          object1Id: copied, changes: { name, copied_from: id } });
        return copied;
      }).catch((err: { code?: string }) => {
        if (err.code === '23505') throw badRequest({ __all__: [`${spec.def.type.replace(/_/g, ' ')} with this name already exists.`] });
        throw err;
      });
      const { loadGrants } = await import('../access.js');
      return { status: 201, body: await getObject(ctx, spec.def, { ...caller, grants: await loadGrants(ctx, caller.user) }, newId) };
    });
  }
}

/** AWX's can_copy: admin of the object and allowed to create one like it in its organization. */
function mayCopy(def: ResourceDef, caller: Caller, row: Row): boolean {
  if (caller.grants.superuser) return true;
  if (!rowPerms(def, caller.grants, row).has('admin')) return false;
  const org = row._aorg as number | null;
  return org != null && caller.grants.orgs(def.access.roleType, 'admin').includes(org);
}

interface LinkCopy { table: string; col: string }

interface CopySpec {
  def: ResourceDef;
  /** Link tables whose rows follow the copy (`job_template_credentials` keyed by `job_template_id`). */
  links?: LinkCopy[];
  /** The original's links as access.ts's LINKS names them, for the copy's check. */
  linked?: (db: Queryable, id: number, row: Row) => Promise<Row>;
  after?: (db: Queryable, fromId: number, toId: number, caller: Caller) => Promise<void>;
}

const COPYABLE: CopySpec[] = [
  { def: jobTemplates, links: [{ table: 'job_template_credentials', col: 'job_template_id' }, { table: 'job_template_labels', col: 'job_template_id' },
    { table: 'job_template_instance_groups', col: 'job_template_id' }],
  linked: async (db, id, row) => ({ project: row.project, inventory: row.inventory,
    credentials: await templateCredentialIds(db, id),
    instance_groups: (await db.query('SELECT instance_group_id FROM job_template_instance_groups WHERE job_template_id = $1', [id])).rows
      .map((r) => Number(r.instance_group_id)) }) },
  { def: projects, linked: async (_db, _id, row) => ({ credential: row.credential }), after: async (db, _from, to, caller) => {
    // A copy gets its own checkout directory, filled by its first update (as AWX does).
    await db.query(`UPDATE projects SET local_path = '', scm_revision = '', status = 'never updated', last_job_id = NULL, last_job_run = NULL WHERE id = $1`, [to]);
    const { rows } = await db.query('SELECT scm_type FROM projects WHERE id = $1', [to]);
    if (rows[0]?.scm_type) await launchProjectUpdate(db, to, { userId: caller.user.id, launchType: 'manual' });
  } },
  { def: inventories, links: [{ table: 'inventory_instance_groups', col: 'inventory_id' }], after: copyInventoryContents,
    linked: async (db, id) => ({ instance_groups: (await db.query('SELECT instance_group_id FROM inventory_instance_groups WHERE inventory_id = $1', [id])).rows
      .map((r) => Number(r.instance_group_id)) }) },
  { def: credentials },
  { def: notificationTemplates },
  // Workflow job templates: their labels, nodes, edges and node credentials (workflow-copy.ts).
  { def: workflowJobTemplates, links: [{ table: 'workflow_job_template_labels', col: 'workflow_job_template_id' }],
    linked: async (_db, _id, row) => ({ organization: row.organization, inventory: row.inventory }), after: copyWorkflowGraph },
];

const columnCache = new Map<string, string[]>();

async function columnsOf(db: Queryable, table: string): Promise<string[]> {
  let cols = columnCache.get(table);
  if (!cols) {
    const { rows } = await db.query(
      `SELECT column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`, [table]);
    cols = rows.map((r) => r.column_name as string).filter((c) => !['id', 'name', 'created', 'modified'].includes(c));
    columnCache.set(table, cols);
  }
  return cols;
}

/** INSERT ... SELECT of one row under a new name; column names come from the catalog, not the request. */
async function copyRow(db: Queryable, table: string, id: number, name: string): Promise<number> {
  const cols = (await columnsOf(db, table)).map((c) => `"${c}"`).join(', ');
  const { rows } = await db.query(`INSERT INTO ${table} (name, ${cols}) SELECT $2, ${cols} FROM ${table} WHERE id = $1 RETURNING id`, [id, name]);
  return Number(rows[0].id);
}

async function copyLinks(db: Queryable, link: LinkCopy, from: number, to: number): Promise<void> {
  const cols = (await db.query(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name NOT IN ('id', $2)`,
    [link.table, link.col])).rows.map((r) => `"${r.column_name}"`);
  await db.query(`INSERT INTO ${link.table} ("${link.col}", ${cols.join(', ')}) SELECT $2, ${cols.join(', ')} FROM ${link.table} WHERE "${link.col}" = $1`, [from, to]);
}

/** An inventory copy carries its hosts, groups and the memberships between them. */
async function copyInventoryContents(db: Queryable, from: number, to: number): Promise<void> {
  await db.query(`INSERT INTO hosts (name, description, inventory_id, enabled, instance_id, variables)
                  SELECT name, description, $2, enabled, instance_id, variables FROM hosts WHERE inventory_id = $1`, [from, to]);
  await db.query(`INSERT INTO groups (name, description, inventory_id, variables)
                  SELECT name, description, $2, variables FROM groups WHERE inventory_id = $1`, [from, to]);
  await db.query(
    `INSERT INTO group_hosts (group_id, host_id)
     SELECT ng.id, nh.id FROM group_hosts gh
       JOIN groups og ON og.id = gh.group_id AND og.inventory_id = $1 JOIN hosts oh ON oh.id = gh.host_id
       JOIN groups ng ON ng.inventory_id = $2 AND ng.name = og.name JOIN hosts nh ON nh.inventory_id = $2 AND nh.name = oh.name`, [from, to]);
  await db.query(
    `INSERT INTO group_children (parent_id, child_id)
     SELECT np.id, nc.id FROM group_children gc
       JOIN groups op ON op.id = gc.parent_id AND op.inventory_id = $1 JOIN groups oc ON oc.id = gc.child_id
       JOIN groups np ON np.inventory_id = $2 AND np.name = op.name JOIN groups nc ON nc.inventory_id = $2 AND nc.name = oc.name`, [from, to]);
}

function parseVariables(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string' || text.trim() === '') return {};
  try {
    const v = YAML.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/**
 * The inventory as `ansible-inventory --list` prints it, which is AWX's `script/`: one key
 * per group (`hosts`, `children`, `vars`), `all` with the inventory's variables and the
 * top-level groups, and with `?hostvars=1` every host's variables under `_meta`.
 */
export async function inventoryScript(db: Queryable, inventoryId: number, opts: { hostvars: boolean; towervars: boolean }): Promise<Row> {
  const params = new Params();
  const inv = await loadInventoryHosts(db, inventoryId, params);
  const which = inv?.hosts ?? 'false';
  const [{ rows: hosts }, { rows: groups }, { rows: memberships }, { rows: children }] = await Promise.all([
    db.query(`SELECT t.id, t.name, t.variables, t.enabled FROM hosts t WHERE ${which} ORDER BY t.name`, params.values),
    db.query('SELECT id, name, variables FROM groups WHERE inventory_id = $1 ORDER BY name', [inventoryId]),
    db.query('SELECT gh.group_id, gh.host_id FROM group_hosts gh JOIN groups g ON g.id = gh.group_id WHERE g.inventory_id = $1', [inventoryId]),
    db.query('SELECT gc.parent_id, gc.child_id FROM group_children gc JOIN groups g ON g.id = gc.parent_id WHERE g.inventory_id = $1', [inventoryId]),
  ]);
  const enabled = hosts.filter((h) => h.enabled);
  const hostName = new Map(enabled.map((h) => [String(h.id), h.name as string]));
  const groupName = new Map(groups.map((g) => [String(g.id), g.name as string]));
  const out: Row = {};
  const grouped = new Set<string>();
  const childIds = new Set(children.map((c) => String(c.child_id)));
  for (const g of groups) {
    const entry: Row = {
      hosts: memberships.filter((m) => String(m.group_id) === String(g.id)).map((m) => hostName.get(String(m.host_id))).filter(Boolean),
      children: children.filter((c) => String(c.parent_id) === String(g.id)).map((c) => groupName.get(String(c.child_id))),
      vars: parseVariables(g.variables),
    };
    for (const h of entry.hosts as string[]) grouped.add(h);
    out[g.name] = entry;
  }
  const ungrouped = enabled.map((h) => h.name as string).filter((n) => !grouped.has(n));
  out.all = {
    hosts: ungrouped, vars: parseVariables(inv?.variables),
    children: groups.filter((g) => !childIds.has(String(g.id))).map((g) => g.name),
  };
  if (opts.hostvars) {
    const hostvars: Row = {};
    for (const h of enabled) {
      const vars = parseVariables(h.variables);
      if (opts.towervars) { vars.remote_tower_enabled = String(h.enabled); vars.remote_tower_id = Number(h.id); }
      hostvars[h.name] = vars;
    }
    out._meta = { hostvars };
  }
  return out;
}
