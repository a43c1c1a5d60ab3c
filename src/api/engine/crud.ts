import { withTransaction } from '../../db/pool.js';
import { recordActivity } from '../../db/activity.js';
import type { Perm } from '../access.js';
import type { ApiContext } from '../context.js';
import { badRequest, forbidden, notFound, type ApiRequest, type Reply } from '../http.js';
import { Params } from '../../db/lookups.js';
import { compileFilters, compileOrder } from './filter.js';
import { mayCreate, permCondition, requirePerm } from './permissions.js';
import { countList, countSubquery, tableRows } from './list-count.js';
import { pageBody, pageWindow } from './pager.js';
import { prepared } from '../../db/prepared.js';
import { colOf, resourceByKey, type Caller, type Queryable, type ResourceDef, type Row } from './resource.js';
import { selectList, serializeRows } from './serialize.js';
import { validateWrite } from './validate.js';

/**
 * The generic list / detail / create / update / delete of a resource.
 *
 * A list page costs what its page costs, not what the table holds (DESIGN.md §5): the
 * page's ids first — the WHERE and ORDER BY alone, LIMIT pageSize + 1, which an index of
 * migration 0600 answers in order without touching the other rows — with the count
 * (list-count.ts), then the full rows with their summary subselects for those ids only
 * (rowsByIds). Before, one query evaluated every summary subselect and a window
 * count(*) for every matching row ahead of LIMIT/OFFSET: 377 ms for the first jobs page
 * of 205,000 jobs.
 */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pager.js';

/** The deepest OFFSET written into a list statement's text (pages 1-5 of 25). */
const INLINE_OFFSET_MAX = 100;

export interface ListOptions {
  /** Extra conditions (over t) with their parameters already pushed to `params`. */
  where?: string[];
  params?: Params;
}

export async function listPage(ctx: ApiContext, def: ResourceDef, caller: Caller, req: ApiRequest, opts: ListOptions = {}): Promise<Row> {
  const params = opts.params ?? new Params();
  const where = [...(opts.where ?? [])];
  if (def.where) where.push(def.where);
  const access = permCondition(def, caller.grants, 'read', params);
  if (access) where.push(access);
  const filters = compileFilters(def, req.query, params, caller.grants);
  where.push(...filters);
  await params.resolve(ctx.pool);
  for (let i = 0; i < where.length; i++) where[i] = params.finish(where[i]);
  const w = pageWindow(req.query);
  const order = compileOrder(def, req.query, params, caller.grants);
  const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
  // A narrowed list (a filter, a sub-list, the caller's read condition) is counted first,
  // and its page read the way the count says is cheaper (pageByIndex). Walking an ordering's
  // index, the planner expects the rows it wants spread evenly: when they are few or none
  // (a member searching a name they cannot read; a template that ran no job, by -finished)
  // it walked the whole index (0.2-4.8 s over 1,000,000 jobs), where the rows found by the
  // filter's own index and sorted take milliseconds. A statement with looked-up values
  // (lookups.ts) is planned for them, unprepared.
  let counted: number | undefined;
  let pageOrder = order.sql;
  if (access || filters.length || opts.where?.length) {
    counted = await countList(ctx.pool, def.table, where, params.values.slice(), { planned: params.planFor });
    if (counted === 0) return pageBody(req, w, 0, [], false);
    if (!(await pageByIndex(ctx.pool, def.table, counted, w, params.planFor))) pageOrder = order.sortedSql;
  }
  // LIMIT and the first pages' OFFSET are written into the text (integers the pager
  // bounded): a LIMIT or OFFSET parameter makes Postgres plan the generic statement for 10 %
  // of the table, so it planned every page afresh for its values (0.4-0.7 ms of a jobs page's
  // ~2 ms in Postgres under the load test's mix). With the first pages' texts free of those
  // parameters, a named statement's generic plan is as cheap as a custom one and is kept.
  // Deeper pages keep the parameter: one text for all of them, planned for each. (Five
  // texts a list where there was one: the rows' own statement is named past prepared()'s
  // cap, so these use up no name it needs.)
  const limit = String(w.pageSize + 1);
  const offset = w.offset <= INLINE_OFFSET_MAX ? String(w.offset) : params.push(w.offset);
  // The page's ids (with the count, when not taken first, as an InitPlan computed once): a
  // statement of the WHERE and ORDER BY alone, cheap to plan for its values. An empty page has
  // no row to carry the count: it is page 1 of an empty list (count 0), or past the end (404).
  const text = `SELECT t.id${counted === undefined ? `, (${countSubquery(ctx.pool, def.table, where)}) AS "_count"` : ''}
     FROM ${def.table} t ${whereSql} ORDER BY ${pageOrder} LIMIT ${limit} OFFSET ${offset}`;
  const { rows: ids } = await ctx.pool.query(params.planFor ? { text, values: params.values } : prepared(text, params.values));
  const count = counted ?? (ids.length ? Number(ids[0]._count) : 0);
  const hasNext = ids.length > w.pageSize;
  const rows = await rowsByIds(ctx.pool, def, ids.slice(0, w.pageSize).map((r) => r.id as number));
  const results = await serializeRows(ctx, def, rows, caller, 'list');
  return pageBody(req, w, count, results, hasNext);
}

/**
 * The full rows (fields, summaries, access columns) of `ids`, in that order. Its text is the
 * resource's alone, whatever the list's filters and ordering, so each connection prepares it
 * once and Postgres keeps one generic plan for it: the dozen summary subselects made planning
 * 4 ms against 1 ms of execution when it rode in each list's own statement (pg_stat_statements
 * under the load test), re-planned for every page's values. The two statements read two
 * snapshots: a row deleted between them is left out of its page, as it would be a moment later.
 */
async function rowsByIds(db: Queryable, def: ResourceDef, ids: number[]): Promise<Row[]> {
  if (!ids.length) return [];
  const { rows } = await db.query(prepared(`SELECT ${selectList(def, 'list')} FROM ${def.table} t WHERE t.id = ANY($1::bigint[])`, [ids], true));
  const byId = new Map(rows.map((r) => [String(r.id), r]));
  return ids.map((id) => byId.get(String(id))).filter((r): r is Row => r !== undefined);
}

/**
 * Whether a page of `count` matching rows is cheaper read by walking the ordering's index
 * (reading about (offset + limit) × table / count entries, index-only: ~100 to a page read
 * in order) than by finding the matches and sorting them (count row fetches, each a page
 * read at random: ~100 entries' worth; at 10, a template's 5,000 jobs by -finished were
 * sorted at 1.3 s under load where the walk reads 800 index pages). Matches
 * of a looked-up filter (job names) are not in the ordering indexes: each entry walked is a
 * row fetch too, so up to 20,000 of them are sorted. PLAYSTREAM_API_LIST_PLAN=index|sort
 * forces one way (tests check both give the same pages).
 */
async function pageByIndex(db: Queryable, table: string, count: number, w: { offset: number; pageSize: number }, lookedUp: boolean): Promise<boolean> {
  const forced = process.env.PLAYSTREAM_API_LIST_PLAN;
  if (forced === 'index' || forced === 'sort') return forced === 'index';
  if (lookedUp) return count > 20_000;
  const rows = Math.max(count, await tableRows(db, table));
  return count * count * 100 > (w.offset + w.pageSize + 1) * rows;
}

/** Resolves `:id` (a number, or a named URL like `Name++Org`) to an id; 404 when absent. */
export async function resolveId(ctx: ApiContext, def: ResourceDef, raw: string): Promise<number> {
  if (/^\d{1,18}$/.test(raw)) return Number(raw);
  if (!def.namedUrl) throw notFound();
  const params = new Params();
  const parts = raw.split('++');
  if (parts.length !== def.namedUrl.length) throw notFound();
  const conds = def.namedUrl.map((spec, i) => {
    const [field, sub] = spec.split('.');
    const f = def.fields[field];
    if (!sub) return `${colOf(field, f)} = ${params.push(parts[i])}`;
    const target = resourceByKey(f.fk!)!;
    if (parts[i] === '') return `${colOf(field, f)} IS NULL`;
    return `${colOf(field, f)} IN (SELECT o.id FROM ${target.table} o WHERE o."${sub}" = ${params.push(parts[i])})`;
  });
  const { rows } = await ctx.pool.query(
    `SELECT t.id FROM ${def.table} t WHERE ${def.where ? `${def.where} AND ` : ''}${conds.join(' AND ')} LIMIT 2`, params.values);
  if (rows.length !== 1) throw notFound();
  return rows[0].id;
}

/** One raw row (with summaries and access columns) or 404; 403 when it exists but the caller may not read it. */
export async function loadRow(ctx: ApiContext, def: ResourceDef, caller: Caller, id: number, db: Queryable = ctx.pool): Promise<Row> {
  const params = new Params();
  const idParam = params.push(id);
  const { rows } = await db.query(prepared(
    `SELECT ${selectList(def, 'detail')} FROM ${def.table} t WHERE t.id = ${idParam}${def.where ? ` AND ${def.where}` : ''}`, params.values, true));
  if (!rows[0]) throw notFound();
  const access = permCondition(def, caller.grants, 'read', params);
  if (access) {
    const { rowCount } = await db.query(prepared(`SELECT 1 FROM ${def.table} t WHERE t.id = ${idParam} AND ${access}`, params.values));
    if (!rowCount) throw forbidden();
  }
  return rows[0];
}

export async function getObject(ctx: ApiContext, def: ResourceDef, caller: Caller, id: number, db: Queryable = ctx.pool): Promise<Row> {
  const row = await loadRow(ctx, def, caller, id, db);
  return (await serializeRows(ctx, def, [row], caller, 'detail'))[0];
}

/** Raw row id check with a given permission (for actions: launch needs execute, update needs update). */
export async function requireObjectPerm(ctx: ApiContext, def: ResourceDef, caller: Caller, id: number, perm: Perm): Promise<Row> {
  const row = await loadRow(ctx, def, caller, id);
  requirePerm(def, caller.grants, row, perm);
  return row;
}

function writeColumn(name: string, def: ResourceDef): string {
  const f = def.fields[name];
  const m = f.col?.match(/^t\."([a-z_0-9]+)"$/);
  if (m) return m[1];
  return f.fk ? `${name}_id` : name;
}

export async function insertRow(db: Queryable, def: ResourceDef, data: Row): Promise<number> {
  const cols = Object.keys(data);
  const values = cols.map((c) => toDb(def, c, data[c]));
  const { rows } = await db.query(
    `INSERT INTO ${def.table} (${cols.map((c) => `"${writeColumn(c, def)}"`).join(', ')})
     VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`, values);
  return rows[0].id;
}

export async function updateRow(db: Queryable, def: ResourceDef, id: number, data: Row): Promise<void> {
  const cols = Object.keys(data);
  if (!cols.length) return;
  await db.query(
    `UPDATE ${def.table} SET ${cols.map((c, i) => `"${writeColumn(c, def)}" = $${i + 2}`).join(', ')}, modified = now() WHERE id = $1`,
    [id, ...cols.map((c) => toDb(def, c, data[c]))]);
}

function toDb(def: ResourceDef, name: string, v: unknown): unknown {
  return def.fields[name]?.type === 'json' && v !== null ? JSON.stringify(v) : v;
}

/** Postgres constraint violations as AWX's validation errors. */
export function dbErrorToHttp(err: unknown): never {
  const e = err as { code?: string; constraint?: string; detail?: string };
  if (e.code === '23505') throw badRequest({ __all__: [`${describeUnique(e.detail)} already exists.`] });
  if (e.code === '23514' || e.code === '23502') throw badRequest({ __all__: [`Invalid value (${e.constraint ?? 'constraint'}).`] });
  if (e.code === '23503') throw badRequest({ __all__: ['A related object does not exist.'] });
  throw err;
}

function describeUnique(detail?: string): string {
  const m = detail?.match(/^Key \((.*)\)=/);
  if (!m) return 'An object with these values';
  const fields = m[1].split(',').map((s) => s.trim().replace(/_id$/, '').replace(/"/g, '')).map((s) => s.charAt(0).toUpperCase() + s.slice(1));
  return `${fields.join(' and ')} with this ${fields.length > 1 ? 'combination' : 'value'}`;
}

/**
 * `generated` holds values the server makes, never the client (an application's client_id
 * and hashed secret): added after validation, for the resource's own `insert` to write.
 */
export async function createObject(ctx: ApiContext, def: ResourceDef, caller: Caller, body: Row, preset: Row = {}, generated: Row = {}): Promise<Row> {
  if (def.readOnly) throw badRequest({ detail: 'Method "POST" not allowed.' });
  let data = await validateWrite(ctx, def, { ...body, ...preset }, undefined);
  if (def.prepare) data = await def.prepare(ctx, ctx.pool, data, undefined, caller);
  if (!(await mayCreate(ctx, def, caller.grants, data))) throw forbidden();
  const id = await withTransaction(ctx.pool, async (db) => {
    try {
      const newId = def.insert ? await def.insert(ctx, db, { ...data, ...generated }) : await insertRow(db, def, stripVirtual(def, data));
      await def.afterCreate?.(ctx, db, newId, data, caller);
      await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: def.activityName ?? def.type, object1Id: newId,
        changes: def.activityMask ? await def.activityMask(db, data, data) : data });
      return newId;
    } catch (err) {
      return dbErrorToHttp(err);
    }
  });
  return getObject(ctx, def, { ...caller, grants: await refreshGrants(ctx, caller) }, id);
}

async function refreshGrants(ctx: ApiContext, caller: Caller) {
  const { loadGrants } = await import('../access.js');
  return loadGrants(ctx, caller.user);
}

/** Fields a definition marks virtual (`col: ''`) are handled by hooks, not written as columns. */
function stripVirtual(def: ResourceDef, data: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(data)) if (def.fields[k] && def.fields[k].col !== '') out[k] = v;
  return out;
}

export async function updateObject(ctx: ApiContext, def: ResourceDef, caller: Caller, id: number, body: Row): Promise<Row> {
  const existing = await loadRow(ctx, def, caller, id);
  requirePerm(def, caller.grants, existing, 'admin');
  let data = await validateWrite(ctx, def, body, existing);
  if (def.prepare) data = await def.prepare(ctx, ctx.pool, data, existing, caller);
  let before: Row = {};
  let after: Row = {};
  for (const [k, v] of Object.entries(data)) {
    if (JSON.stringify(existing[k]) !== JSON.stringify(v)) { before[k] = existing[k]; after[k] = v; }
  }
  await withTransaction(ctx.pool, async (db) => {
    try {
      if (def.update) await def.update(ctx, db, id, data, existing);
      else await updateRow(db, def, id, stripVirtual(def, data));
      await def.afterUpdate?.(ctx, db, id, data, caller);
      if (Object.keys(after).length) {
        if (def.activityMask) {
          before = await def.activityMask(db, before, existing);
          after = await def.activityMask(db, after, { ...existing, ...data });
        }
        const changes: Row = Object.fromEntries(Object.keys(after).map((k) => [k, [before[k], after[k]]]));
        await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'update', object1: def.activityName ?? def.type, object1Id: id, changes });
      }
    } catch (err) {
      dbErrorToHttp(err);
    }
  });
  return getObject(ctx, def, caller, id);
}

export async function deleteObject(ctx: ApiContext, def: ResourceDef, caller: Caller, id: number): Promise<Reply> {
  if (def.noDelete) throw badRequest({ detail: 'Method "DELETE" not allowed.' });
  const existing = await loadRow(ctx, def, caller, id);
  requirePerm(def, caller.grants, existing, 'admin');
  if (def.access.mayDelete && !def.access.mayDelete(caller.grants, existing)) throw forbidden();
  await def.beforeDelete?.(ctx, ctx.pool, existing);
  await withTransaction(ctx.pool, async (db) => {
    await db.query(`DELETE FROM ${def.table} WHERE id = $1`, [id]);
    await db.query('DELETE FROM rbac_roles WHERE resource_type = $1 AND resource_id = $2', [def.type, id]);
    // A deletion records the name alone: nothing of the object's content, secret or not.
    await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: 'delete', object1: def.activityName ?? def.type, object1Id: id,
      changes: { name: existing.name ?? existing.username ?? id } });
  });
  return { status: 204 };
}
