import { requireCaller } from '../auth.js';
import { cachedRead } from '../cache/cached-read.js';
import { withTransaction } from '../../db/pool.js';
import { recordActivity } from '../../db/activity.js';
import type { ApiContext } from '../context.js';
import { badRequest, jsonBody, type Router } from '../http.js';
import { createObject, deleteObject, getObject, listPage, loadRow, resolveId, updateObject } from './crud.js';
import { Params } from '../../db/lookups.js';
import { requirePerm } from './permissions.js';
import type { Caller, Queryable, ResourceDef, Row } from './resource.js';
import { allowHeader, detailOptions, listOptions } from './options.js';

/**
 * Route registration for resources and their sub-lists. A sub-list is a filtered view of
 * a child resource (`/inventories/N/hosts/`); POST to it either creates a child tied to the
 * parent or, with `{"id": n}`, associates an existing one (`"disassociate": true` removes
 * the link) → 204, as AWX's SubListCreateAttachDetachAPIView does.
 */
export function registerResource(router: Router<ApiContext>, def: ResourceDef): void {
  const base = `/api/v2/${def.key}/`;
  router.get(base, cachedRead([def], (req, ctx, caller) => listPage(ctx, def, caller, req)));
  router.add('OPTIONS', base, async (req, ctx) => ({ status: 200, headers: { allow: allowHeader(def, 'list') },
    body: await listOptions(ctx, def, await requireCaller(req, ctx)) }));
  router.add('OPTIONS', `${base}:id/`, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const row = await loadRow(ctx, def, caller, await resolveId(ctx, def, req.params.id));
    return { status: 200, headers: { allow: allowHeader(def, 'detail') }, body: detailOptions(def, caller, row) };
  });
  if (!def.readOnly) {
    router.post(base, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      return { status: 201, body: await createObject(ctx, def, caller, jsonBody(req)) };
    });
  }
  router.get(`${base}:id/`, cachedRead([def], async (req, ctx, caller) => getObject(ctx, def, caller, await resolveId(ctx, def, req.params.id))));
  if (!def.readOnly) {
    const update = async (req: Parameters<Parameters<Router<ApiContext>['get']>[1]>[0], ctx: ApiContext) => {
      const caller = await requireCaller(req, ctx);
      return { status: 200, body: await updateObject(ctx, def, caller, await resolveId(ctx, def, req.params.id), jsonBody(req)) };
    };
    router.put(`${base}:id/`, update);
    router.patch(`${base}:id/`, update);
  }
  if (!def.noDelete) {
    router.delete(`${base}:id/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      return deleteObject(ctx, def, caller, await resolveId(ctx, def, req.params.id));
    });
  }
}

export interface Association {
  /** Link table and its two columns. */
  table: string;
  parentCol: string;
  childCol: string;
  /** Extra constant columns of the link row (notification attachments' resource_type, on_event). */
  extra?: Record<string, string>;
  /** Permission on the parent needed to change links (default admin). */
  parentPerm?: 'admin' | 'member';
  /** Permission needed on the child too (granting a role needs admin of the role's object). */
  childPerm?: 'admin';
  /** Custom link writers (roles, memberships); default INSERT/DELETE on the link table. */
  link?: (db: Queryable, parentId: number, childId: number, caller: Caller) => Promise<void>;
  unlink?: (db: Queryable, parentId: number, childId: number, caller: Caller) => Promise<void>;
}

export interface SubListOptions {
  /**
   * SQL over the child alias t selecting the parent's children; the parent id is pushed
   * first; `parent` is the parent's row and `params` take any further values.
   */
  condition: (parentParam: string, parent: Row, params: Params) => string;
  associate?: Association;
  /** POST without `id` creates a child with these fields set from the parent. */
  createWith?: (parent: Row) => Row;
  /** After a create through the sub-list (add the new user to the organization, ...). */
  afterCreate?: (ctx: ApiContext, db: Queryable, parentId: number, child: Row, caller: Caller) => Promise<void>;
  /** Before a GET lists the children of a parent the caller may read (make lazily made rows). */
  beforeList?: (ctx: ApiContext, parentId: number) => Promise<unknown>;
}

export function registerSubList(router: Router<ApiContext>, parent: ResourceDef, name: string, child: ResourceDef, opts: SubListOptions): void {
  const path = `/api/v2/${parent.key}/:id/${name}/`;
  router.get(path, cachedRead([parent, child], async (req, ctx, caller) => {
    const parentId = await resolveId(ctx, parent, req.params.id);
    const parentRow = await loadRow(ctx, parent, caller, parentId);
    await opts.beforeList?.(ctx, parentId);
    const params = new Params();
    const cond = opts.condition(params.push(parentId), parentRow, params);
    return listPage(ctx, child, caller, req, { where: [cond], params });
  }));
  router.add('OPTIONS', path, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const parentRow = await loadRow(ctx, parent, caller, await resolveId(ctx, parent, req.params.id));
    // A child is made here only where the sub-list creates, by those who administer the parent.
    const creates = !!opts.createWith && requirePermOk(parent, caller, parentRow);
    return { status: 200, headers: { allow: allowHeader(child, 'list', !!opts.createWith || !!opts.associate) },
      body: await listOptions(ctx, child, caller, { creates }) };
  });
  if (!opts.associate && !opts.createWith) return;
  router.post(path, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const parentId = await resolveId(ctx, parent, req.params.id);
    const parentRow = await loadRow(ctx, parent, caller, parentId);
    const body = jsonBody<Row>(req);
    if (body && typeof body === 'object' && 'id' in body && opts.associate) {
      const a = opts.associate;
      const childId = Number(body.id);
      if (!Number.isInteger(childId)) throw badRequest({ msg: '"id" field must be an integer.' });
      requirePerm(parent, caller.grants, parentRow, a.parentPerm ?? 'admin');
      const disassociate = !!body.disassociate;
      const childRow = await loadRow(ctx, child, caller, childId);
      if (a.childPerm) requirePerm(child, caller.grants, childRow, a.childPerm);
      await withTransaction(ctx.pool, async (db) => {
        if (disassociate) {
          if (a.unlink) await a.unlink(db, parentId, childId, caller);
          else await db.query(`DELETE FROM ${a.table} WHERE ${a.parentCol} = $1 AND ${a.childCol} = $2${extraWhere(a, 3)}`, [parentId, childId, ...Object.values(a.extra ?? {})]);
        } else if (a.link) {
          await a.link(db, parentId, childId, caller);
        } else {
          const cols = [a.parentCol, a.childCol, ...Object.keys(a.extra ?? {})];
          await db.query(`INSERT INTO ${a.table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT DO NOTHING`,
            [parentId, childId, ...Object.values(a.extra ?? {})]);
        }
        await recordActivity(db, ctx.config.nodeName, { actorId: caller.user.id, operation: disassociate ? 'disassociate' : 'associate',
          object1: parent.activityName ?? parent.type, object1Id: parentId, object2: child.activityName ?? child.type, object2Id: childId, relationship: name });
      });
      return { status: 204 };
    }
    if (!opts.createWith) throw badRequest({ msg: '"id" is required to associate.' });
    const created = await createObject(ctx, child, caller, body, opts.createWith(parentRow));
    if (opts.afterCreate) {
      const after = opts.afterCreate;
      await withTransaction(ctx.pool, (db) => after(ctx, db, parentId, created, caller));
    }
    return { status: 201, body: created };
  });
}

function requirePermOk(def: ResourceDef, caller: Caller, row: Row): boolean {
  try {
    requirePerm(def, caller.grants, row, 'admin');
    return true;
  } catch {
    return false;
  }
}

function extraWhere(a: Association, first: number): string {
  return Object.keys(a.extra ?? {}).map((c, i) => ` AND ${c} = $${first + i}`).join('');
}
