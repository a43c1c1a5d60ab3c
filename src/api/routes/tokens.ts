import crypto from 'node:crypto';
import { requireCaller, sha256 } from '../auth.js';
import type { ApiContext } from '../context.js';
import { getObject, listPage, resolveId, loadRow } from '../engine/crud.js';
import { Params } from '../../db/lookups.js';
import { badRequest, forbidden, jsonBody, type Router, type ApiRequest } from '../http.js';
import { recordActivity } from '../activity.js';
import { tokens, TOKEN_TTL_SECONDS } from '../resources/tokens.js';
import { users } from '../resources/organizations.js';

/** POST /api/v2/tokens/ (and users/N/personal_tokens/) creates a bearer token; DELETE revokes it. */
async function createToken(req: ApiRequest, ctx: ApiContext, userId?: number) {
  const caller = await requireCaller(req, ctx);
  const owner = userId ?? caller.user.id;
  if (owner !== caller.user.id && !caller.grants.superuser) throw forbidden();
  const body = jsonBody<Record<string, unknown>>(req);
  const scope = body.scope ?? 'write';
  if (scope !== 'read' && scope !== 'write') throw badRequest({ scope: ['Must be "read" or "write".'] });
  if (body.description !== undefined && typeof body.description !== 'string') throw badRequest({ description: ['Not a valid string.'] });
  const value = crypto.randomBytes(30).toString('base64url');
  const { rows } = await ctx.pool.query(
    `INSERT INTO api_tokens (user_id, token_hash, description, scope, expires) VALUES ($1, $2, $3, $4, now() + $5 * interval '1 second') RETURNING id`,
    [owner, sha256(value), body.description ?? '', scope, TOKEN_TTL_SECONDS]);
  await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: 'o_auth2_access_token', object1Id: rows[0].id, changes: { scope } });
  const obj = await getObject(ctx, tokens, caller, rows[0].id);
  return { status: 201, body: { ...obj, token: value } };
}

export function registerTokens(router: Router<ApiContext>): void {
  router.post('/api/v2/tokens/', (req, ctx) => createToken(req, ctx));
  router.post('/api/v2/users/:id/personal_tokens/', async (req, ctx) => createToken(req, ctx, await resolveId(ctx, users, req.params.id)));
  router.post('/api/v2/users/:id/tokens/', async (req, ctx) => createToken(req, ctx, await resolveId(ctx, users, req.params.id)));
  for (const sub of ['personal_tokens', 'tokens']) {
    router.get(`/api/v2/users/:id/${sub}/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const id = await resolveId(ctx, users, req.params.id);
      await loadRow(ctx, users, caller, id);
      const params = new Params();
      return { status: 200, body: await listPage(ctx, tokens, caller, req, { where: [`t.user_id = ${params.push(id)}`], params }) };
    });
  }
  router.delete('/api/v2/tokens/:id/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const row = await loadRow(ctx, tokens, caller, Number(req.params.id));
    if (row.user !== caller.user.id && !caller.grants.superuser) throw forbidden();
    await ctx.pool.query('DELETE FROM api_tokens WHERE id = $1', [row.id]);
    await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'delete', object1: 'o_auth2_access_token', object1Id: row.id as number });
    return { status: 204 };
  });
}
