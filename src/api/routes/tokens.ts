import crypto from 'node:crypto';
import { requireCaller, sha256, type RequestCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { getObject, listPage, resolveId, loadRow, createObject } from '../engine/crud.js';
import { Params } from '../../db/lookups.js';
import { withTransaction } from '../../db/pool.js';
import { badRequest, forbidden, jsonBody, type Router, type ApiRequest } from '../http.js';
import { issueToken, newSecret } from '../token-issue.js';
import { SCOPE_MESSAGE, tokens, normalizeScope } from '../resources/tokens.js';
import { applications } from '../resources/applications.js';
import { organizations, users } from '../resources/organizations.js';

/**
 * Tokens and applications as AWX's views serve them:
 * - POST /tokens/, /users/N/tokens/ (OAuth2TokenSerializer: `application` optional),
 *   /users/N/authorized_tokens/ (`application` required), /users/N/personal_tokens/ (none),
 *   /applications/N/tokens/ (that application): a token for the caller (superusers may make
 *   one for another user through /users/N/...); the answer carries `token` and, for an
 *   application's token, `refresh_token`, once.
 * - a token of an application needs read access to it (OAuth2TokenAccess.can_add).
 * - POST /applications/ answers the client secret of a confidential application once.
 */
type TokenKind = 'any' | 'personal' | 'authorized';

async function createToken(req: ApiRequest, ctx: ApiContext, kind: TokenKind, opts: { userId?: number; applicationId?: number } = {}) {
  const caller = await requireCaller(req, ctx);
  const owner = opts.userId ?? caller.user.id;
  if (owner !== caller.user.id && !caller.grants.superuser) throw forbidden();
  const body = jsonBody<Record<string, unknown>>(req);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
  const scope = normalizeScope(body.scope ?? 'write');
  if (!scope) throw badRequest({ scope: [SCOPE_MESSAGE] });
  if (body.description != null && typeof body.description !== 'string') throw badRequest({ description: ['Not a valid string.'] });
  let applicationId = opts.applicationId ?? (body.application == null ? null : Number(body.application));
  if (opts.applicationId === undefined && body.application != null) {
    if (kind === 'personal') throw badRequest({ application: ['A personal access token has no application.'] });
    if (!Number.isSafeInteger(applicationId)) throw badRequest({ application: ['Incorrect type. Expected pk value.'] });
  }
  if (kind === 'authorized' && applicationId == null) throw badRequest({ application: ['This field is required.'] });
  if (applicationId != null) {
    const { rowCount } = await ctx.pool.query('SELECT 1 FROM oauth2_applications WHERE id = $1', [applicationId]);
    if (!rowCount) throw badRequest({ application: [`Invalid pk "${applicationId}" - object does not exist.`] });
    await loadRow(ctx, applications, caller, applicationId);
  }
  const issued = await withTransaction(ctx.pool, (db) => issueToken(db, ctx.config.nodeName, {
    userId: owner, actorId: caller.user.id, applicationId: applicationId ?? null, scope, description: (body.description as string | undefined) ?? '' }));
  const obj = await getObject(ctx, tokens, caller, issued.id);
  return { status: 201, body: { ...obj, token: issued.token, refresh_token: issued.refreshToken } };
}

async function listUserTokens(req: ApiRequest, ctx: ApiContext, caller: RequestCaller, condition: string) {
  const id = await resolveId(ctx, users, req.params.id);
  await loadRow(ctx, users, caller, id);
  const params = new Params();
  return { status: 200, body: await listPage(ctx, tokens, caller, req, { where: [`t.user_id = ${params.push(id)}`, condition], params }) };
}

async function createApplication(req: ApiRequest, ctx: ApiContext, preset: Record<string, unknown> = {}) {
  const caller = await requireCaller(req, ctx);
  const body = jsonBody<Record<string, unknown>>(req);
  const confidential = body?.client_type === 'confidential';
  // django-oauth-toolkit's generators: a 40-character client id; the secret, 240 random bits, kept as its hash.
  const secret = confidential ? newSecret() : null;
  const created = await createObject(ctx, applications, caller, body, preset,
    { client_id: crypto.randomBytes(30).toString('base64url').slice(0, 40), client_secret_hash: secret && sha256(secret) });
  return { status: 201, body: secret ? { ...created, client_secret: secret } : created };
}

export function registerTokens(router: Router<ApiContext>): void {
  router.post('/api/v2/tokens/', (req, ctx) => createToken(req, ctx, 'any'));
  const userTokens: [string, TokenKind, string][] = [
    ['tokens', 'any', 'true'], ['personal_tokens', 'personal', 't.application_id IS NULL'],
    ['authorized_tokens', 'authorized', 't.application_id IS NOT NULL']];
  for (const [sub, kind, condition] of userTokens) {
    router.post(`/api/v2/users/:id/${sub}/`, async (req, ctx) => createToken(req, ctx, kind, { userId: await resolveId(ctx, users, req.params.id) }));
    router.get(`/api/v2/users/:id/${sub}/`, async (req, ctx) => listUserTokens(req, ctx, await requireCaller(req, ctx), condition));
  }
  router.post('/api/v2/applications/', (req, ctx) => createApplication(req, ctx));
  router.post('/api/v2/organizations/:id/applications/', async (req, ctx) =>
    createApplication(req, ctx, { organization: await resolveId(ctx, organizations, req.params.id) }));
  router.post('/api/v2/applications/:id/tokens/', async (req, ctx) =>
    createToken(req, ctx, 'authorized', { applicationId: await resolveId(ctx, applications, req.params.id) }));
}
