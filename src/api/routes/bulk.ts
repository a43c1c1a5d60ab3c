import { requireCaller, type RequestCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { recordActivity } from '../../db/activity.js';
import { withTransaction } from '../../db/pool.js';
import { isWholeNumber, readSetting } from '../../db/settings.js';
import { hostLimitProblem } from '../../db/host-limit.js';
import { badRequest, HttpError, jsonBody, type ApiRequest, type Router } from '../http.js';
import { dbErrorToHttp, getObject } from '../engine/crud.js';
import { validateWrite } from '../engine/validate.js';
import { hosts, yamlOrJsonVariables } from '../resources/inventories.js';
import { workflowJobs } from '../resources/workflows.js';
import { bulkJobNodes, checkBulkJobs } from './bulk-jobs.js';
import { submitUnifiedJob } from '../../scheduler/submit.js';

/**
 * AWX's bulk API (awx/api/views/bulk.py):
 * - POST /api/v2/bulk/host_create/ {inventory, hosts: [{name, description, enabled,
 *   instance_id, variables}]}: all hosts in one transaction, or none; at most
 *   BULK_HOST_MAX_CREATE (100) of them; the caller administers the inventory (else AWX's
 *   400 "not found or lack permissions"); names new to the inventory and to each other; a
 *   manual inventory only; the organization's max_hosts holds.
 * - POST /api/v2/bulk/job_launch/ {jobs: [...], name, description, organization,
 *   inventory, limit, scm_branch, job_tags, skip_tags, extra_vars}: one workflow job
 *   (is_bulk_job) with a root node per job, which the workflow pass starts like any other
 *   (src/scheduler/workflow/); at most BULK_JOB_MAX_LAUNCH (100) jobs; checks in
 *   bulk-jobs.ts.
 * - POST /api/v2/bulk/host_delete/ {hosts: [id, ...]}: at most BULK_HOST_MAX_DELETE (250),
 *   all in one transaction or none; ids the caller cannot see count as missing (400 per id,
 *   so the endpoint tells nothing of other organizations' hosts); an inventory the caller
 *   sees but does not administer is 403 naming it; manual inventories only. One activity
 *   entry per inventory lists the hosts deleted from it.
 */
const HOST_KEYS = new Set(['name', 'description', 'enabled', 'instance_id', 'variables']);

async function hostCreate(req: ApiRequest, ctx: ApiContext) {
  const caller = await requireCaller(req, ctx);
  const body = jsonBody<Record<string, unknown>>(req);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
  const inventoryId = Number(body.inventory);
  if (body.inventory == null) throw badRequest({ inventory: ['This field is required.'] });
  if (!Number.isSafeInteger(inventoryId)) throw badRequest({ inventory: ['Incorrect type. Expected pk value.'] });
  if (!Array.isArray(body.hosts)) throw badRequest({ hosts: [body.hosts == null ? 'This field is required.' : 'Expected a list of items.'] });
  if (!body.hosts.length) throw badRequest({ hosts: ['This list may not be empty.'] });
  const max = await readSetting(ctx.pool, 'BULK_HOST_MAX_CREATE', 100, isWholeNumber);
  if (body.hosts.length > max) throw badRequest({ __all__: ['Number of hosts exceeds system setting BULK_HOST_MAX_CREATE'] });
  const { rows: [inv] } = await ctx.pool.query<{ id: string; kind: string; organization_id: string | null }>(
    'SELECT i.id, i.kind, i.organization_id FROM inventories i WHERE i.id = $1', [inventoryId]);
  if (!inv) throw badRequest({ inventory: [`Invalid pk "${inventoryId}" - object does not exist.`] });
  if (!caller.grants.perms('inventory', inventoryId, inv.organization_id == null ? null : Number(inv.organization_id)).has('admin')) {
    throw badRequest({ __all__: [`Inventory with id ${inventoryId} not found or lack permissions to add hosts.`] });
  }
  if (inv.kind !== '') throw badRequest({ __all__: ['Hosts can only be created in manual inventories (not smart or constructed types).'] });

  const errors: Record<string, unknown>[] = [];
  const valid: Record<string, unknown>[] = [];
  for (const given of body.hosts as unknown[]) {
    if (!given || typeof given !== 'object' || Array.isArray(given)) { errors.push({ non_field_errors: ['Invalid data. Expected a dictionary.'] }); continue; }
    const unknown = Object.keys(given).filter((k) => !HOST_KEYS.has(k));
    if (unknown.length) { errors.push(Object.fromEntries(unknown.map((k) => [k, ['Not a field of a bulk host.']]))); continue; }
    try {
      const host = yamlOrJsonVariables(await validateWrite(ctx, hosts, { ...given, inventory: inventoryId }, undefined));
      valid.push(host);
      errors.push({});
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      errors.push(err.body as Record<string, unknown>);
    }
  }
  if (errors.some((e) => Object.keys(e).length)) throw badRequest({ hosts: errors });

  const names = valid.map((h) => h.name as string);
  const { rows: taken } = await ctx.pool.query<{ name: string }>('SELECT name FROM hosts WHERE inventory_id = $1 AND name = ANY($2::text[])', [inventoryId, names]);
  const existing = new Set(taken.map((r) => r.name));
  const duplicates = names.filter((n, i) => existing.has(n) || names.indexOf(n) !== i);
  if (duplicates.length) throw badRequest({ __all__: [`Hostnames must be unique in an inventory. Duplicates found: ${JSON.stringify(duplicates)}`] });

  const created = await withTransaction(ctx.pool, async (db) => {
    try {
      const problem = await hostLimitProblem(db, inventoryId, names);
      if (problem) throw new HttpError(403, { detail: problem });
      const { rows: [before] } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM hosts WHERE inventory_id = $1', [inventoryId]);
      const { rows } = await db.query(
        `INSERT INTO hosts (inventory_id, name, description, enabled, instance_id, variables)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[])
         RETURNING id, name, description, enabled, instance_id, variables`,
        [inventoryId, names, valid.map((h) => h.description ?? ''), valid.map((h) => h.enabled ?? true),
          valid.map((h) => h.instance_id ?? ''), valid.map((h) => h.variables ?? '')]);
      await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'update', object1: 'inventory', object1Id: inventoryId,
        changes: { total_hosts: [before.n, before.n + rows.length] } });
      return rows;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      return dbErrorToHttp(err);
    }
  });
  const invUrl = `/api/v2/inventories/${inventoryId}/`;
  return { status: 201, body: { url: invUrl, hosts: created.map((h) => ({ name: h.name, enabled: h.enabled, instance_id: h.instance_id,
    description: h.description, variables: h.variables, id: Number(h.id), url: `/api/v2/hosts/${h.id}/`, inventory: invUrl })) } };
}

const HOST_GONE = 'Hosts do not exist or you lack permission to delete it';

async function hostDelete(req: ApiRequest, ctx: ApiContext) {
  const caller = await requireCaller(req, ctx);
  const body = jsonBody<Record<string, unknown>>(req);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
  const unknown = Object.keys(body).filter((k) => k !== 'hosts');
  if (unknown.length) throw badRequest(Object.fromEntries(unknown.map((k) => [k, ['Not a field of a bulk host delete.']])));
  if (!Array.isArray(body.hosts)) throw badRequest({ hosts: [body.hosts == null ? 'This field is required.' : 'Expected a list of items.'] });
  if (!body.hosts.length) throw badRequest({ hosts: ['This list may not be empty.'] });
  const ids = body.hosts.map((h) => (typeof h === 'string' && /^\d+$/.test(h) ? Number(h) : h));
  const wrong = ids.map((h, i) => [i, h] as const).filter(([, h]) => !Number.isSafeInteger(h) || (h as number) <= 0);
  if (wrong.length) throw badRequest({ hosts: Object.fromEntries(wrong.map(([i]) => [i, ['A valid integer is required.']])) });
  const max = await readSetting(ctx.pool, 'BULK_HOST_MAX_DELETE', 250, isWholeNumber);
  if (ids.length > max) {
    throw badRequest({ ERROR: 'Number of hosts exceeds system setting BULK_HOST_MAX_DELETE', BULK_HOST_MAX_DELETE: max, Hosts_count: ids.length });
  }
  const wanted = [...new Set(ids as number[])];
  const { rows: found } = await ctx.pool.query<{ id: string; name: string; inventory_id: string; inventory_name: string; kind: string; organization_id: string | null }>(
    `SELECT h.id, h.name, h.inventory_id, i.name AS inventory_name, i.kind, i.organization_id
       FROM hosts h JOIN inventories i ON i.id = h.inventory_id WHERE h.id = ANY($1::bigint[]) ORDER BY h.id`, [wanted]);
  // The caller's permissions on each inventory the hosts are in, worked out once per inventory.
  const invPerms = new Map(found.map((h) => [h.inventory_id,
    caller.grants.perms('inventory', Number(h.inventory_id), h.organization_id == null ? null : Number(h.organization_id))]));
  const visible = found.filter((h) => invPerms.get(h.inventory_id)!.has('read'));
  const seen = new Set(visible.map((h) => Number(h.id)));
  const missing = wanted.filter((id) => !seen.has(id));
  if (missing.length) throw badRequest({ hosts: Object.fromEntries(missing.map((id) => [id, HOST_GONE])) });
  const inventories = new Map(visible.map((h) => [Number(h.inventory_id), h]));
  const notAdmin = [...inventories.values()].filter((h) => !invPerms.get(h.inventory_id)!.has('admin'));
  if (notAdmin.length) {
    throw new HttpError(403, { inventories: Object.fromEntries(notAdmin.map((h) => [h.inventory_name, 'Lack permissions to delete hosts from this inventory.'])) });
  }
  const notManual = [...inventories.values()].filter((h) => h.kind !== '');
  if (notManual.length) {
    throw badRequest({ inventories: Object.fromEntries(notManual.map((h) => [h.inventory_name, 'Hosts can only be deleted from manual inventories.'])) });
  }
  await withTransaction(ctx.pool, async (db) => {
    const { rowCount } = await db.query('DELETE FROM hosts WHERE id = ANY($1::bigint[])', [wanted]);
    if (rowCount !== wanted.length) throw new HttpError(409, { detail: 'Some hosts were deleted meanwhile; nothing was deleted. Try again.' });
    for (const inventoryId of inventories.keys()) {
      await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'update', object1: 'inventory', object1Id: inventoryId,
        changes: { deleted_hosts: visible.filter((h) => Number(h.inventory_id) === inventoryId).map((h) => ({ host_id: Number(h.id), host_name: h.name })) } });
    }
  });
  return { status: 201, body: { hosts: Object.fromEntries(visible.map((h) => [Number(h.id), `The host ${h.name} was deleted`])) } };
}

async function jobLaunch(req: ApiRequest, ctx: ApiContext) {
  const caller: RequestCaller = await requireCaller(req, ctx);
  const body = jsonBody<Record<string, unknown>>(req);
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
  const max = await readSetting(ctx.pool, 'BULK_JOB_MAX_LAUNCH', 100, isWholeNumber);
  const launch = await checkBulkJobs(ctx, caller, body, max);
  const id = await withTransaction(ctx.pool, async (db) => {
    const jobId = await submitUnifiedJob(db, {
      kind: 'workflow_job', name: launch.name, description: launch.description, unified_job_template_id: null,
      organization_id: launch.organization, launch_type: 'manual', created_by_id: caller.user.id, is_bulk_job: true,
      inventory_id: launch.inventory, limit: launch.limit, scm_branch: launch.scm_branch, job_tags: launch.job_tags,
      skip_tags: launch.skip_tags, extra_vars: launch.extra_vars, launch_prompts: JSON.stringify({}),
      // No events, no dependencies: its final status alone completes its processing.
      stream_complete: true, dependencies_processed: true,
    });
    await bulkJobNodes(db, jobId, launch.jobs);
    await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: 'workflow_job', object1Id: jobId,
      changes: { name: launch.name, is_bulk_job: true, jobs: launch.jobs.length } });
    return jobId;
  });
  return { status: 201, body: await getObject(ctx, workflowJobs, caller, id) };
}

export function registerBulk(router: Router<ApiContext>): void {
  router.get('/api/v2/bulk/', async (req, ctx) => {
    await requireCaller(req, ctx);
    return { status: 200, body: { host_create: '/api/v2/bulk/host_create/', host_delete: '/api/v2/bulk/host_delete/', job_launch: '/api/v2/bulk/job_launch/' } };
  });
  router.get('/api/v2/bulk/host_create/', async (req, ctx) => {
    await requireCaller(req, ctx);
    return { status: 200, body: { detail: 'Bulk create hosts with this endpoint' } };
  });
  router.get('/api/v2/bulk/host_delete/', async (req, ctx) => {
    await requireCaller(req, ctx);
    return { status: 200, body: { detail: 'Bulk delete hosts with this endpoint' } };
  });
  router.get('/api/v2/bulk/job_launch/', async (req, ctx) => {
    await requireCaller(req, ctx);
    return { status: 200, body: { detail: 'Specify a list of unified job templates to launch alongside their launchtime parameters' } };
  });
  router.post('/api/v2/bulk/host_create/', hostCreate);
  router.post('/api/v2/bulk/host_delete/', hostDelete);
  router.post('/api/v2/bulk/job_launch/', jobLaunch);
}
