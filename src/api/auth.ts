import crypto from 'node:crypto';
import { withTransaction } from '../db/pool.js';
import { log } from '../log.js';
import { hashPassword, needsRehash, PasswordCheckBusy, verifyPassword } from '../security/passwords.js';
import { equalSecrets } from '../security/secrets.js';
import { LdapUnavailable } from '../security/ldap/directory.js';
import { ldapLogin } from './ldap-login.js';
import { prepared } from '../db/prepared.js';
import { type Grants, loadGrants } from './access.js';
import { attemptKeys, attemptSucceeded, refuseIfLocked, reserveAttempt } from './auth-throttle.js';
import { AUTH_TABLES, type CredentialRow } from './cache/read-cache.js';
import type { ApiContext } from './context.js';
import { type ApiRequest, HttpError, unauthorized } from './http.js';

/**
 * Who is calling: basic auth, a session cookie (`sessionid`, from POST /api/login/), or a
 * bearer token (/api/v2/tokens/). Session keys and tokens are stored as SHA-256 hashes: a
 * database dump yields no usable credential.
 *
 * Passwords (basic auth and the login form) go through checkPassword: an attempt is
 * reserved against the username's and the address's limits first (auth-throttle.ts, in
 * Redis, shared by every web process), then one scrypt runs whether or not the user
 * exists (passwords.ts), and a hash stored at an older cost is replaced after a success.
 * A verified (username, password) pair is remembered for 60 s under a keyed hash with the
 * stored hash it matched, so scripted clients sending basic auth on every request do not
 * pay scrypt each time, and a changed password (a new stored hash, on any web process)
 * ends the remembered pair at its next use.
 *
 * A password change or a deactivation deletes the user's sessions and tokens (migration
 * 0500's trigger, whatever process or statement makes the change).
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
const basicCache = new Map<string, { userId: number; hash: string; expires: number }>();

export const SESSION_COOKIE = 'sessionid';
export const CSRF_COOKIE = 'csrftoken';

function cacheKey(username: string, password: string): string {
  return crypto.createHmac('sha256', cacheKeySecret).update(username).update('\0').update(password).digest('base64');
}

export function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

export async function loadUser(ctx: ApiContext, where: 'id' | 'username', value: number | string): Promise<(AuthenticatedUser & { password: string; ldap_dn: string }) | undefined> {
  const { rows } = await ctx.pool.query(prepared(
    `SELECT id, username, password, is_superuser, is_system_auditor, ldap_dn FROM users WHERE ${where === 'id' ? 'id' : 'username'} = $1 AND is_active`,
    [value]));
  return rows[0];
}

/**
 * Checks of one (username, password) from one address that are under way: a client
 * opening many connections at once with the same basic credentials (1,000 websockets,
 * bench/ws) waits for one check instead of reserving 1,000 attempts, which would lock the
 * username at the 11th, and queueing 1,000 scrypts.
 */
const checking = new Map<string, Promise<AuthenticatedUser | undefined>>();

/**
 * Verifies a username and password (the login form and basic auth) from `remoteAddress`.
 * Throws 429 while the username or the address is locked, 503 when the attempt limits
 * cannot be checked or too many checks are queued.
 */
export function checkPassword(ctx: ApiContext, username: string, password: string, remoteAddress: string): Promise<AuthenticatedUser | undefined> {
  const key = cacheKey(username, password);
  const flight = `${key} ${remoteAddress}`;
  let check = checking.get(flight);
  if (!check) {
    check = checkPasswordOnce(ctx, username, password, remoteAddress, key).finally(() => checking.delete(flight));
    checking.set(flight, check);
  }
  return check;
}

async function checkPasswordOnce(ctx: ApiContext, username: string, password: string, remoteAddress: string, key: string): Promise<AuthenticatedUser | undefined> {
  const keys = attemptKeys(ctx, username, remoteAddress);
  const hit = basicCache.get(key);
  if (hit && hit.expires > Date.now()) {
    await refuseIfLocked(ctx, keys);
    const user = await loadUser(ctx, 'id', hit.userId);
    if (user && user.username === username && user.password === hit.hash) return strip(user);
  }
  basicCache.delete(key);
  await reserveAttempt(ctx, keys);
  const user = await loadUser(ctx, 'username', username);
  // LDAP first, as AWX's backends are ordered, for anyone but a local user (ldap-login.ts);
  // an LDAP login is not cached: each one asks the directory.
  let unavailable: LdapUnavailable | undefined;
  if (!user || user.ldap_dn) {
    try {
      const ldapUser = await ldapLogin(ctx, username, password);
      if (ldapUser) {
        await attemptSucceeded(ctx, keys);
        return ldapUser;
      }
    } catch (err) {
      if (!(err instanceof LdapUnavailable)) throw err;
      log.error('LDAP login could not reach the directory', { username, error: err.message });
      unavailable = err;
    }
  }
  let verified: boolean;
  try {
    verified = await verifyPassword(password, user?.password);
  } catch (err) {
    if (err instanceof PasswordCheckBusy) throw new HttpError(503, { detail: 'Too many logins in progress. Try again shortly.' }, { 'retry-after': '1' });
    throw err;
  }
  if (!user || !verified) {
    if (unavailable) {
      throw new HttpError(503, { detail: 'The LDAP directory cannot be reached, so this login cannot be checked now; local users can still log in.' },
        { 'retry-after': '30' });
    }
    return undefined;
  }
  await attemptSucceeded(ctx, keys);
  const hash = needsRehash(user.password) ? await rehash(ctx, user.id, user.password, password) : user.password;
  if (basicCache.size >= CACHE_MAX) basicCache.delete(basicCache.keys().next().value!);
  basicCache.set(key, { userId: user.id, hash, expires: Date.now() + CACHE_TTL_MS });
  return strip(user);
}

/**
 * Stores the password at today's scrypt cost in place of a hash made at an older one, if
 * the stored hash is still the one verified (a concurrent password change wins). The
 * `playstream.password_rehash` setting, local to this transaction, tells migration 0500's
 * trigger that the password itself did not change: sessions and tokens stay.
 */
async function rehash(ctx: ApiContext, userId: number, old: string, password: string): Promise<string> {
  try {
    const fresh = await hashPassword(password);
    const stored = await withTransaction(ctx.pool, async (db) => {
      await db.query(`SELECT set_config('playstream.password_rehash', 'on', true)`);
      return (await db.query('UPDATE users SET password = $1 WHERE id = $2 AND password = $3', [fresh, userId, old])).rowCount;
    });
    return stored ? fresh : old;
  } catch (err) {
    log.warn('password rehash failed; the old hash stays', { user: userId, error: (err as Error).message });
    return old;
  }
}

/** Forgets cached basic-auth verifications of a user (password changed, user deleted). */
export function forgetUser(userId: number): void {
  for (const [k, v] of basicCache) if (v.userId === userId) basicCache.delete(k);
}

async function basicUser(ctx: ApiContext, req: ApiRequest, header: string): Promise<AuthenticatedUser | undefined> {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return checkPassword(ctx, decoded.slice(0, colon), decoded.slice(colon + 1), req.remoteAddress);
}

function strip(u: AuthenticatedUser & { password: string }): AuthenticatedUser {
  return { id: u.id, username: u.username, is_superuser: u.is_superuser, is_system_auditor: u.is_system_auditor };
}

/**
 * The cookies of a Cookie header. A value that does not decode (`%E0%A4%A`) is skipped, so
 * a broken cookie is no credential (401 where one is needed), never an error; of two
 * cookies with one name the first counts (the browser sends the most specific path
 * first). The result has no prototype: a cookie named `__proto__` is just a name.
 */
export function parseCookieHeader(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!name || name in out) continue;
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      // Not percent-encoded text: not a cookie we set, and not one to act on.
    }
  }
  return out;
}

export function parseCookies(req: ApiRequest): Record<string, string> {
  return parseCookieHeader(req.headers.cookie);
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
 * Token and session lookups go through the read cache when there is one: retired by any
 * change to users, api_tokens or api_sessions (an unsafe request of this process answers
 * once its own changes are heard), so a revoked token or deactivated user stops working as
 * soon as the change is heard. Expiry is checked on every use.
 */
function cachedLookup(ctx: ApiContext, key: string, lookup: () => Promise<CredentialRow>): Promise<CredentialRow> {
  return ctx.readCache ? ctx.readCache.auth.load(key, async () => ({ value: await lookup(), tables: AUTH_TABLES })) as Promise<CredentialRow> : lookup();
}

function unexpired(row: Record<string, unknown>): boolean {
  return (row.expires as Date).getTime() > Date.now();
}

function userOf(row: Record<string, unknown>): AuthenticatedUser {
  return { id: row.id as number, username: row.username as string, is_superuser: row.is_superuser as boolean,
    is_system_auditor: row.is_system_auditor as boolean };
}

/** Whether `token` is the CSRF token of the request's session (the websocket's `xrftoken` check). */
export async function csrfTokenMatches(req: ApiRequest, ctx: ApiContext, token: string | undefined): Promise<boolean> {
  if (!token) return false;
  const session = await sessionOf(ctx, req);
  return !!session && equalSecrets(session.csrf, token);
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
  // AWX's scope is a set of words (`read`, `write`, `read write`): `write` permits writes.
  const scope = (row.scope as string).split(' ').includes('write') ? 'write' : 'read';
  return { user: userOf(row), via: 'token', scope, tokenId };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Each request is authenticated once: the HTTP layer does it before reading a body
 * (server.ts's admitBody), and the handler's own call gets the same answer, not a
 * second password check counted against the limits.
 */
const authenticated = new WeakMap<ApiRequest, Promise<Authentication | undefined>>();

/** The full authentication of a request, or undefined when it carries no valid credentials. */
export function authenticateRequest(req: ApiRequest, ctx: ApiContext): Promise<Authentication | undefined> {
  let auth = authenticated.get(req);
  if (!auth) {
    auth = authenticateOnce(req, ctx);
    authenticated.set(req, auth);
  }
  return auth;
}

/**
 * AWX's AUTH_BASIC_ENABLED (default true): off, a basic Authorization header authenticates
 * nobody (the login form and tokens still work). Read at most every 5 s per web process, as
 * one more query on every scripted request would double the cost of a cached read; a change
 * made through this process applies at once (forgetBasicAuthSetting), in others within 5 s.
 */
const BASIC_SETTING_TTL_MS = 5_000;
let basicSetting: { enabled: boolean; at: number } | undefined;

export function forgetBasicAuthSetting(): void { basicSetting = undefined; }

async function basicAuthEnabled(ctx: ApiContext): Promise<boolean> {
  if (basicSetting && Date.now() - basicSetting.at < BASIC_SETTING_TTL_MS) return basicSetting.enabled;
  const { rows } = await ctx.pool.query<{ value: unknown }>(`SELECT value FROM api_settings WHERE key = 'AUTH_BASIC_ENABLED'`);
  basicSetting = { enabled: rows[0]?.value !== false, at: Date.now() };
  return basicSetting.enabled;
}

async function authenticateOnce(req: ApiRequest, ctx: ApiContext): Promise<Authentication | undefined> {
  const header = req.headers.authorization;
  if (header && /^basic /i.test(header)) {
    if (!(await basicAuthEnabled(ctx))) return undefined;
    const user = await basicUser(ctx, req, header);
    return user && { user, via: 'basic', scope: 'write' };
  }
  if (header && /^bearer /i.test(header)) return tokenUser(ctx, header);
  const session = await sessionOf(ctx, req);
  if (!session) return undefined;
  if (UNSAFE.has(req.method) && !equalSecrets(session.csrf, req.headers['x-csrftoken'] ?? '')) {
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

/** The authentication of a request that may change something, or the 401/403 refusing it. */
export async function requireWriter(req: ApiRequest, ctx: ApiContext): Promise<Authentication> {
  const auth = await authenticateRequest(req, ctx);
  if (!auth) throw unauthorized();
  if (auth.scope === 'read' && UNSAFE.has(req.method)) {
    throw new HttpError(403, { detail: 'You do not have permission to perform this action.' });
  }
  return auth;
}

/** Authentication plus grants; a read-scoped token may not use unsafe methods. */
export async function requireCaller(req: ApiRequest, ctx: ApiContext): Promise<RequestCaller> {
  const auth = await requireWriter(req, ctx);
  return { ...auth, grants: await loadGrants(ctx, auth.user) };
}
