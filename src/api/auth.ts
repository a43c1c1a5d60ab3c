import crypto from 'node:crypto';
import { log } from '../log.js';
import { verifyPassword } from '../security/passwords.js';
import { prepared } from './engine/prepared.js';
import { type Grants, loadGrants } from './access.js';
import type { CredentialRow } from './cache/read-cache.js';
import type { ApiContext } from './context.js';
import { type ApiRequest, HttpError, unauthorized } from './http.js';

/**
 * Who is calling: basic auth, a session cookie (`sessionid`, from POST /api/login/), or a
 * bearer token (/api/v2/tokens/). Basic auth checks scrypt, which costs ~50 ms by design;
 * a verified (username, password) pair is remembered for 60 s under a keyed hash so
 * scripted clients sending basic auth on every request do not pay it each time. Session
 * keys and tokens are stored as SHA-256 hashes: a database dump yields no usable credential.
 *
 * CSRF as Django does it: a session-authenticated unsafe request must carry X-CSRFToken
 * equal to the session's token (set as the `csrftoken` cookie at login). Basic and bearer
 * requests are not cookie-borne, so they need none.
 */
export interface AuthenticatedUser {
  id: number;
  username: string;
  is_superuser: boolean;
  is_system_auditor: boolean;
}

export interface Authentication {
  user: AuthenticatedUser;
  via: 'basic' | 'session' | 'token';
  scope: 'read' | 'write';
  tokenId?: number;
}

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 1024;
const cacheKeySecret = crypto.randomBytes(32);
const basicCache = new Map<string, { userId: number; expires: number }>();

export const SESSION_COOKIE = 'sessionid';
export const CSRF_COOKIE = 'csrftoken';

function cacheKey(username: string, password: string): string {
  return crypto.createHmac('sha256', cacheKeySecret).update(username).update('\0').update(password).digest('base64');
}

export function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

export async function loadUser(ctx: ApiContext, where: 'id' | 'username', value: number | string): Promise<(AuthenticatedUser & { password: string }) | undefined> {
  const { rows } = await ctx.pool.query(prepared(
    `SELECT id, username, password, is_superuser, is_system_auditor FROM users WHERE ${where === 'id' ? 'id' : 'username'} = $1 AND is_active`,
    [value]));
  return rows[0];
}

/** Verifies a username and password (the login form and basic auth). */
export async function checkPassword(ctx: ApiContext, username: string, password: string): Promise<AuthenticatedUser | undefined> {
  const key = cacheKey(username, password);
  const hit = basicCache.get(key);
  if (hit && hit.expires > Date.now()) {
    const user = await loadUser(ctx, 'id', hit.userId);
    if (user && user.username === username) return strip(user);
  }
  const user = await loadUser(ctx, 'username', username);
  if (!user || !user.password || !(await verifyPassword(password, user.password))) return undefined;
  if (basicCache.size >= CACHE_MAX) basicCache.delete(basicCache.keys().next().value!);
  basicCache.set(key, { userId: user.id, expires: Date.now() + CACHE_TTL_MS });
  return strip(user);
}

/** Forgets cached basic-auth verifications of a user (password changed, user deleted). */
export function forgetUser(userId: number): void {
  for (const [k, v] of basicCache) if (v.userId === userId) basicCache.delete(k);
}

async function basicUser(ctx: ApiContext, header: string): Promise<AuthenticatedUser | undefined> {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return checkPassword(ctx, decoded.slice(0, colon), decoded.slice(colon + 1));
}

function strip(u: AuthenticatedUser & { password: string }): AuthenticatedUser {
  return { id: u.id, username: u.username, is_superuser: u.is_superuser, is_system_auditor: u.is_system_auditor };
}

export function parseCookies(req: ApiRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

async function sessionOf(ctx: ApiContext, req: ApiRequest): Promise<{ user: AuthenticatedUser; csrf: string } | undefined> {
  const key = parseCookies(req)[SESSION_COOKIE];
  if (!key) return undefined;
  const hash = sha256(key);
  const row = await cachedLookup(ctx, `session ${hash}`, async () => (await ctx.pool.query(prepared(
    `SELECT u.id, u.username, u.is_superuser, u.is_system_auditor, s.csrf_token, s.expires
       FROM api_sessions s JOIN users u ON u.id = s.user_id
      WHERE s.key_hash = $1 AND s.expires > now() AND u.is_active`, [hash]))).rows[0]);
  if (!row || !unexpired(row)) return undefined;
  return { user: userOf(row), csrf: row.csrf_token as string };
}

/**
 * Token and session lookups go through the read cache when there is one: emptied on any
 * change to users, api_tokens or api_sessions (and on every unsafe request of this
 * process), so a revoked token or deactivated user stops working as soon as the change is
 * heard. Expiry is checked on every use.
 */
function cachedLookup(ctx: ApiContext, key: string, lookup: () => Promise<CredentialRow>): Promise<CredentialRow> {
  return ctx.readCache ? ctx.readCache.auth.load(key, lookup) : lookup();
}

function unexpired(row: Record<string, unknown>): boolean {
  return (row.expires as Date).getTime() > Date.now();
}

function userOf(row: Record<string, unknown>): AuthenticatedUser {
  return { id: row.id as number, username: row.username as string, is_superuser: row.is_superuser as boolean,
    is_system_auditor: row.is_system_auditor as boolean };
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** Whether `token` is the CSRF token of the request's session (the websocket's `xrftoken` check). */
export async function csrfTokenMatches(req: ApiRequest, ctx: ApiContext, token: string | undefined): Promise<boolean> {
  if (!token) return false;
  const session = await sessionOf(ctx, req);
  return !!session && timingSafeEqual(session.csrf, token);
}

/**
 * A token lookup is a read: `last_used` is written at most once a minute per token, after
 * the answer, because a write per GET was a WAL flush per request (commit with
 * synchronous_commit on) on the API's busiest path.
 */
const LAST_USED_RESOLUTION_MS = 60_000;

async function tokenUser(ctx: ApiContext, header: string): Promise<Authentication | undefined> {
  const hash = sha256(header.slice(7).trim());
  const row = await cachedLookup(ctx, `token ${hash}`, async () => (await ctx.pool.query(prepared(
    `SELECT t.id AS token_id, t.scope, t.expires, t.last_used, u.id, u.username, u.is_superuser, u.is_system_auditor
       FROM api_tokens t JOIN users u ON u.id = t.user_id
      WHERE t.token_hash = $1 AND t.expires > now() AND u.is_active`, [hash]))).rows[0]);
  if (!row || !unexpired(row)) return undefined;
  const tokenId = row.token_id as number;
  const lastUsed = row.last_used as Date | null;
  if (!lastUsed || Date.now() - lastUsed.getTime() > LAST_USED_RESOLUTION_MS) {
    // Marked on the (possibly cached) row first, so the requests until this update is heard do not repeat it.
    row.last_used = new Date();
    ctx.pool.query('UPDATE api_tokens SET last_used = now() WHERE id = $1', [tokenId])
      .catch((err: Error) => log.warn('token last_used update failed', { error: err.message }));
  }
  return { user: userOf(row), via: 'token', scope: row.scope as 'read' | 'write', tokenId };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The full authentication of a request, or undefined when it carries no valid credentials. */
export async function authenticateRequest(req: ApiRequest, ctx: ApiContext): Promise<Authentication | undefined> {
  const header = req.headers.authorization;
  if (header && /^basic /i.test(header)) {
    const user = await basicUser(ctx, header);
    return user && { user, via: 'basic', scope: 'write' };
  }
  if (header && /^bearer /i.test(header)) return tokenUser(ctx, header);
  const session = await sessionOf(ctx, req);
  if (!session) return undefined;
  if (UNSAFE.has(req.method) && !timingSafeEqual(session.csrf, req.headers['x-csrftoken'] ?? '')) {
    throw new HttpError(403, { detail: 'CSRF Failed: CSRF token missing or incorrect.' });
  }
  return { user: session.user, via: 'session', scope: 'write' };
}

/** The caller, or undefined when the request carries no valid credentials. */
export async function authenticate(req: ApiRequest, ctx: ApiContext): Promise<AuthenticatedUser | undefined> {
  return (await authenticateRequest(req, ctx))?.user;
}

/** The caller, or a 401 like AWX's. */
export async function requireUser(req: ApiRequest, ctx: ApiContext): Promise<AuthenticatedUser> {
  const user = await authenticate(req, ctx);
  if (!user) throw unauthorized();
  return user;
}

export interface RequestCaller extends Authentication { grants: Grants }

/** Authentication plus grants; a read-scoped token may not use unsafe methods. */
export async function requireCaller(req: ApiRequest, ctx: ApiContext): Promise<RequestCaller> {
  const auth = await authenticateRequest(req, ctx);
  if (!auth) throw unauthorized();
  if (auth.scope === 'read' && UNSAFE.has(req.method)) {
    throw new HttpError(403, { detail: 'You do not have permission to perform this action.' });
  }
  return { ...auth, grants: await loadGrants(ctx, auth.user) };
}
