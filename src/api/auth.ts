import crypto from 'node:crypto';
import { verifyPassword } from '../security/passwords.js';
import type { ApiContext } from './context.js';
import { type ApiRequest, unauthorized } from './http.js';

/**
 * Who is calling. Basic auth checks scrypt, which costs ~50 ms by design; a verified
 * (username, password) pair is remembered for 60 s under a keyed hash so scripted clients
 * sending basic auth on every request do not pay it each time. The cache holds no password.
 */
export interface AuthenticatedUser {
  id: number;
  username: string;
  is_superuser: boolean;
  is_system_auditor: boolean;
}

const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 1024;
const cacheKeySecret = crypto.randomBytes(32);
const basicCache = new Map<string, { userId: number; expires: number }>();

function cacheKey(username: string, password: string): string {
  return crypto.createHmac('sha256', cacheKeySecret).update(username).update('\0').update(password).digest('base64');
}

export async function loadUser(ctx: ApiContext, where: 'id' | 'username', value: number | string): Promise<(AuthenticatedUser & { password: string }) | undefined> {
  const { rows } = await ctx.pool.query(
    `SELECT id, username, password, is_superuser, is_system_auditor FROM users WHERE ${where === 'id' ? 'id' : 'username'} = $1 AND is_active`,
    [value]);
  return rows[0];
}

async function basicUser(ctx: ApiContext, header: string): Promise<AuthenticatedUser | undefined> {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const key = cacheKey(username, password);
  const hit = basicCache.get(key);
  if (hit && hit.expires > Date.now()) {
    const user = await loadUser(ctx, 'id', hit.userId);
    if (user) return strip(user);
  }
  const user = await loadUser(ctx, 'username', username);
  if (!user || !(await verifyPassword(password, user.password))) return undefined;
  if (basicCache.size >= CACHE_MAX) basicCache.delete(basicCache.keys().next().value!);
  basicCache.set(key, { userId: user.id, expires: Date.now() + CACHE_TTL_MS });
  return strip(user);
}

function strip(u: AuthenticatedUser & { password: string }): AuthenticatedUser {
  return { id: u.id, username: u.username, is_superuser: u.is_superuser, is_system_auditor: u.is_system_auditor };
}

/** The caller, or undefined when the request carries no valid credentials. */
export async function authenticate(req: ApiRequest, ctx: ApiContext): Promise<AuthenticatedUser | undefined> {
  const header = req.headers.authorization;
  if (header && /^basic /i.test(header)) return basicUser(ctx, header);
  return undefined;
}

/** The caller, or a 401 like AWX's. */
export async function requireUser(req: ApiRequest, ctx: ApiContext): Promise<AuthenticatedUser> {
  const user = await authenticate(req, ctx);
  if (!user) throw unauthorized();
  return user;
}
