import { authenticateRequest, checkPassword, CSRF_COOKIE, parseCookies, sha256 } from '../auth.js';
import type { ApiContext } from '../context.js';
import { withTransaction } from '../../db/pool.js';
import { equalSecrets } from '../../security/secrets.js';
import { HttpError, type ApiRequest, type Reply, type Router } from '../http.js';
import { normalizeScope } from '../resources/tokens.js';
import { issueToken, newSecret, oauth2Lifetimes } from '../token-issue.js';

/**
 * AWX's /api/o/ (django-oauth-toolkit on oauthlib), RFC 6749 and 7009:
 * - POST /api/o/token/: grant_type `password` (an application whose grant type is password),
 *   `authorization_code` (a code from /api/o/authorize/, once, within its lifetime, with the same
 *   redirect_uri) and `refresh_token` (the old access token and its refresh token end; a
 *   refresh token older than REFRESH_TOKEN_EXPIRE_SECONDS is a 403 as AWX's TokenView says); the
 *   lifetimes are the OAUTH2_PROVIDER setting's (token-issue.ts).
 * - GET/POST /api/o/authorize/: a logged-in user (session) grants an application a code,
 *   at once when the application skips authorization, else after the form's "Authorize".
 * - POST /api/o/revoke_token/: the client revokes one of its access or refresh tokens.
 *
 * Clients authenticate with HTTP Basic `client_id:client_secret` or with `client_id` /
 * `client_secret` in the form; a public client gives its client_id only. A wrong secret is
 * `invalid_client` (401). Errors are RFC 6749's `{"error": ..., "error_description": ...}`.
 * PKCE (`code_challenge`) is not supported and refused by name, never ignored.
 */
const FORM_MAX_BYTES = 16 * 1024;
const DEFAULT_SCOPE = 'read write';
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

class OAuthError extends HttpError {
  constructor(status: number, error: string, description?: string) {
    super(status, description ? { error, error_description: description } : { error }, NO_STORE);
  }
}

interface Application {
  id: number; client_id: string; client_secret_hash: string | null; client_type: string;
  authorization_grant_type: string; redirect_uris: string; skip_authorization: boolean; name: string;
}

function formFields(req: ApiRequest): Record<string, string> {
  const raw = req.body.toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
      return Object.fromEntries(Object.entries(parsed).filter(([, v]) => v != null).map(([k, v]) => [k, String(v)]));
    } catch {
      throw new OAuthError(400, 'invalid_request', 'The body is not valid JSON.');
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

async function applicationByClientId(ctx: ApiContext, clientId: string): Promise<Application | undefined> {
  const { rows } = await ctx.pool.query<Application>(
    `SELECT id, name, client_id, client_secret_hash, client_type, authorization_grant_type, redirect_uris, skip_authorization
       FROM oauth2_applications WHERE client_id = $1`, [clientId]);
  return rows[0] && { ...rows[0], id: Number(rows[0].id) };
}

/** The client of a token or revoke request, authenticated; `invalid_client` (401) otherwise. */
async function authenticateClient(ctx: ApiContext, req: ApiRequest, fields: Record<string, string>): Promise<Application> {
  let clientId = fields.client_id;
  let secret = fields.client_secret;
  const header = req.headers.authorization;
  if (header && /^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError(401, 'invalid_client');
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    } catch {
      throw new OAuthError(401, 'invalid_client');
    }
  }
  const app = clientId ? await applicationByClientId(ctx, clientId) : undefined;
  if (!app) throw new OAuthError(401, 'invalid_client');
  if (app.client_type === 'confidential') {
    if (!secret || !app.client_secret_hash || !equalSecrets(sha256(secret), app.client_secret_hash)) throw new OAuthError(401, 'invalid_client');
  }
  return app;
}

function requestedScope(raw: string | undefined, allowed = DEFAULT_SCOPE): string {
  if (raw === undefined || raw === '') return allowed;
  const scope = normalizeScope(raw);
  const permitted = allowed.split(' ');
  if (!scope || scope.split(' ').some((w) => !permitted.includes(w))) throw new OAuthError(400, 'invalid_scope');
  return scope;
}

async function tokenReply(ctx: ApiContext, userId: number, app: Application, scope: string): Promise<Reply> {
  const issued = await withTransaction(ctx.pool, (db) => issueToken(db, ctx.config.nodeName,
    { userId, actorId: userId, applicationId: app.id, scope }));
  return { status: 200, headers: NO_STORE, body: {
    access_token: issued.token, expires_in: Math.round((issued.expires.getTime() - Date.now()) / 1000),
    token_type: 'Bearer', scope: issued.scope, refresh_token: issued.refreshToken } };
}

async function passwordGrant(ctx: ApiContext, req: ApiRequest, app: Application, f: Record<string, string>): Promise<Reply> {
  if (app.authorization_grant_type !== 'password') throw new OAuthError(400, 'unauthorized_client');
  if (!f.username || f.password === undefined) throw new OAuthError(400, 'invalid_request', 'Request is missing username or password.');
  const scope = requestedScope(f.scope);
  const user = await checkPassword(ctx, f.username, f.password, req.remoteAddress);
  if (!user) throw new OAuthError(400, 'invalid_grant', 'Invalid credentials given.');
  return tokenReply(ctx, user.id, app, scope);
}

async function authorizationCodeGrant(ctx: ApiContext, app: Application, f: Record<string, string>): Promise<Reply> {
  if (app.authorization_grant_type !== 'authorization-code') throw new OAuthError(400, 'unauthorized_client');
  if (f.code_verifier !== undefined) throw new OAuthError(400, 'invalid_request', 'code_verifier: PKCE is not supported.');
  if (!f.code) throw new OAuthError(400, 'invalid_request', 'Missing code parameter.');
  // Used once: the DELETE takes it whether or not the rest matches, so a guessed or stolen code is spent.
  const { rows } = await ctx.pool.query<{ application_id: string; user_id: string; redirect_uri: string; scope: string; expires: Date }>(
    `DELETE FROM oauth2_grants g USING users u WHERE g.code_hash = $1 AND u.id = g.user_id AND u.is_active
     RETURNING g.application_id, g.user_id, g.redirect_uri, g.scope, g.expires`, [sha256(f.code)]);
  const grant = rows[0];
  if (!grant || Number(grant.application_id) !== app.id || grant.expires.getTime() <= Date.now()) throw new OAuthError(400, 'invalid_grant');
  if ((f.redirect_uri ?? '') !== grant.redirect_uri) throw new OAuthError(400, 'invalid_grant', 'Mismatching redirect URI.');
  return tokenReply(ctx, Number(grant.user_id), app, grant.scope);
}

async function refreshGrant(ctx: ApiContext, app: Application, f: Record<string, string>): Promise<Reply> {
  if (!f.refresh_token) throw new OAuthError(400, 'invalid_request', 'Missing refresh token parameter.');
  const { rows } = await ctx.pool.query<{ access_token_id: string; user_id: string; created: Date; scope: string }>(
    `SELECT r.access_token_id, r.user_id, r.created, t.scope FROM oauth2_refresh_tokens r
       JOIN api_tokens t ON t.id = r.access_token_id JOIN users u ON u.id = r.user_id AND u.is_active
      WHERE r.token_hash = $1 AND r.application_id = $2`, [sha256(f.refresh_token), app.id]);
  const old = rows[0];
  if (!old) throw new OAuthError(400, 'invalid_grant');
  if (old.created.getTime() + (await oauth2Lifetimes(ctx.pool)).REFRESH_TOKEN_EXPIRE_SECONDS * 1000 < Date.now()) {
    throw new HttpError(403, { detail: 'The refresh token has expired.' }, NO_STORE);
  }
  const scope = requestedScope(f.scope, old.scope);
  const issued = await withTransaction(ctx.pool, async (db) => {
    // Deleting the old access token takes its refresh token (ON DELETE CASCADE): both are spent.
    const { rowCount } = await db.query('DELETE FROM api_tokens WHERE id = $1', [old.access_token_id]);
    if (!rowCount) throw new OAuthError(400, 'invalid_grant');
    return issueToken(db, ctx.config.nodeName, { userId: Number(old.user_id), actorId: Number(old.user_id), applicationId: app.id, scope });
  });
  return { status: 200, headers: NO_STORE, body: {
    access_token: issued.token, expires_in: Math.round((issued.expires.getTime() - Date.now()) / 1000),
    token_type: 'Bearer', scope: issued.scope, refresh_token: issued.refreshToken } };
}

async function tokenEndpoint(req: ApiRequest, ctx: ApiContext): Promise<Reply> {
  const f = formFields(req);
  if (!f.grant_type) throw new OAuthError(400, 'invalid_request', 'Request is missing grant type.');
  if (!['password', 'authorization_code', 'refresh_token'].includes(f.grant_type)) throw new OAuthError(400, 'unsupported_grant_type');
  const app = await authenticateClient(ctx, req, f);
  if (f.grant_type === 'password') return passwordGrant(ctx, req, app, f);
  if (f.grant_type === 'authorization_code') return authorizationCodeGrant(ctx, app, f);
  return refreshGrant(ctx, app, f);
}

async function revokeEndpoint(req: ApiRequest, ctx: ApiContext): Promise<Reply> {
  const f = formFields(req);
  const app = await authenticateClient(ctx, req, f);
  if (!f.token) throw new OAuthError(400, 'invalid_request', 'Missing token parameter.');
  const hash = sha256(f.token);
  // RFC 7009 §2.2: an unknown token, or another client's, is answered 200 all the same.
  await ctx.pool.query(
    `DELETE FROM api_tokens WHERE application_id = $2 AND (token_hash = $1
       OR id = (SELECT access_token_id FROM oauth2_refresh_tokens WHERE token_hash = $1 AND application_id = $2))`, [hash, app.id]);
  return { status: 200, headers: NO_STORE, body: '' };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function redirectWith(uri: string, params: Record<string, string | undefined>): Reply {
  const target = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) target.searchParams.set(k, v);
  return { status: 302, headers: { location: target.toString(), ...NO_STORE }, body: '' };
}

interface AuthorizationRequest {
  app: Application;
  redirectUri: string;
  scope: string;
  /** The redirect refusing the request, when it is refused after its redirect URI is known. */
  error?: Reply;
  fail: (error: string, description?: string) => Reply;
}

/** Checks an authorization request; errors before the redirect URI is known are shown, not redirected (RFC 6749 §4.1.2.1). */
async function authorizationRequest(ctx: ApiContext, p: Record<string, string>): Promise<AuthorizationRequest> {
  const app = p.client_id ? await applicationByClientId(ctx, p.client_id) : undefined;
  if (!app) throw new OAuthError(400, 'invalid_client_id');
  const uris = app.redirect_uris.split(' ').filter(Boolean);
  const redirectUri = p.redirect_uri || uris[0];
  if (!redirectUri || !uris.includes(redirectUri)) throw new OAuthError(400, 'invalid_request', 'Mismatching redirect URI.');
  const fail = (error: string, description?: string): Reply => redirectWith(redirectUri, { error, error_description: description, state: p.state });
  if (p.response_type !== 'code') return { app, redirectUri, scope: '', fail, error: fail('unsupported_response_type') };
  if (app.authorization_grant_type !== 'authorization-code') return { app, redirectUri, scope: '', fail, error: fail('unauthorized_client') };
  if (p.code_challenge !== undefined) return { app, redirectUri, scope: '', fail, error: fail('invalid_request', 'code_challenge: PKCE is not supported.') };
  let scope: string;
  try {
    scope = requestedScope(p.scope);
  } catch {
    return { app, redirectUri, scope: '', fail, error: fail('invalid_scope') };
  }
  return { app, redirectUri, scope, fail };
}

async function grantCode(ctx: ApiContext, appId: number, userId: number, redirectUri: string, scope: string, state?: string): Promise<Reply> {
  const code = newSecret();
  await ctx.pool.query(
    `INSERT INTO oauth2_grants (code_hash, application_id, user_id, redirect_uri, scope, expires)
     VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 second')`,
    [sha256(code), appId, userId, redirectUri, scope, (await oauth2Lifetimes(ctx.pool)).AUTHORIZATION_CODE_EXPIRE_SECONDS]);
  return redirectWith(redirectUri, { code, state });
}

const AUTHORIZE_FIELDS = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state'];

async function authorizeGet(req: ApiRequest, ctx: ApiContext): Promise<Reply> {
  const p = Object.fromEntries(req.query);
  const auth = await authenticateRequest(req, ctx);
  if (!auth) return { status: 302, headers: { location: `/api/login/?next=${encodeURIComponent(`${req.path}?${req.query}`)}` }, body: '' };
  const checked = await authorizationRequest(ctx, p);
  if (checked.error) return checked.error;
  if (checked.app.skip_authorization) return grantCode(ctx, checked.app.id, auth.user.id, checked.redirectUri, checked.scope, p.state);
  const csrf = parseCookies(req)[CSRF_COOKIE] ?? '';
  const hidden = AUTHORIZE_FIELDS.filter((k) => p[k] !== undefined)
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(p[k])}">`).join('');
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', ...NO_STORE }, body:
    `<!doctype html><html><body><h1>Authorize ${escapeHtml(checked.app.name)}?</h1>
<p>The application asks for scopes: ${escapeHtml(checked.scope)}.</p>
<form method="post" action="/api/o/authorize/"><input type="hidden" name="csrfmiddlewaretoken" value="${escapeHtml(csrf)}">${hidden}
<input type="submit" value="Cancel"><input type="submit" name="allow" value="Authorize"></form></body></html>` };
}

async function authorizePost(req: ApiRequest, ctx: ApiContext): Promise<Reply> {
  const p = formFields(req);
  // Django takes a form's CSRF token from its csrfmiddlewaretoken field.
  if (p.csrfmiddlewaretoken && !req.headers['x-csrftoken']) req.headers['x-csrftoken'] = p.csrfmiddlewaretoken;
  const auth = await authenticateRequest(req, ctx);
  if (!auth) throw new HttpError(401, { detail: 'Authentication credentials were not provided.' });
  if (auth.scope !== 'write') throw new HttpError(403, { detail: 'You do not have permission to perform this action.' });
  const checked = await authorizationRequest(ctx, p);
  if (checked.error) return checked.error;
  if (!p.allow) return checked.fail('access_denied');
  return grantCode(ctx, checked.app.id, auth.user.id, checked.redirectUri, checked.scope, p.state);
}

export function registerOAuth2(router: Router<ApiContext>): void {
  const form = { anonymousBody: true, maxBody: FORM_MAX_BYTES };
  router.get('/api/o/', () => ({ status: 200, body: {
    authorize: '/api/o/authorize/', token: '/api/o/token/', revoke_token: '/api/o/revoke_token/' } }));
  router.post('/api/o/token/', tokenEndpoint, form);
  router.post('/api/o/revoke_token/', revokeEndpoint, form);
  router.get('/api/o/authorize/', authorizeGet);
  router.post('/api/o/authorize/', authorizePost, form);
}
