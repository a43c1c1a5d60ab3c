import crypto from 'node:crypto';
import { checkPassword, CSRF_COOKIE, parseCookies, requireCaller, SESSION_COOKIE, sha256 } from '../auth.js';
import type { ApiContext } from '../context.js';
import { HttpError, type ApiRequest, type Router } from '../http.js';
import { isWholeNumber, readSetting } from '../../db/settings.js';

/**
 * Session login as Django does it: GET /api/login/ sets the `csrftoken` cookie; POST with
 * username/password (form or JSON) and the same token in `X-CSRFToken` (or the
 * `csrfmiddlewaretoken` field) creates a session: `sessionid` cookie (HttpOnly) plus a new
 * csrftoken bound to the session. Failed attempts count against the same per-username and
 * per-address limits as basic auth, in Redis across web processes (auth-throttle.ts): at
 * the limit, 429 until the window ends.
 *
 * The form is read before anyone is authenticated (its credentials are in it), so it has
 * its own small cap: 16 KiB holds a username, a password, `next` and the token many
 * times over.
 */
const SESSION_SECONDS = 1800 * 8;
/**
 * AWX's `userLoggedIn` cookie (LoggedLoginView / LoggedLogoutView): readable by scripts,
 * "true" while a session was opened here, so a UI can show its login form without first
 * asking /api/v2/me/ for a 401 (which a browser logs as an error).
 */
const LOGGED_IN_COOKIE = 'userLoggedIn';
const FORM_MAX_BYTES = 16 * 1024;

function cookie(name: string, value: string, maxAge: number, httpOnly: boolean): string {
  return `${name}=${value}; Max-Age=${maxAge}; Path=/; SameSite=Lax${httpOnly ? '; HttpOnly' : ''}`;
}

function loginFields(req: ApiRequest): Record<string, string> {
  const raw = req.body.toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, string> : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

export function registerLogin(router: Router<ApiContext>): void {
  router.get('/api/login/', (req) => {
    const token = parseCookies(req)[CSRF_COOKIE] ?? crypto.randomBytes(24).toString('base64url');
    return { status: 200, headers: { 'set-cookie': cookie(CSRF_COOKIE, token, 31_449_600, false), 'content-type': 'text/html' },
      body: '<html><body><form method="post"><input name="username"><input name="password" type="password"></form></body></html>' };
  });

  router.post('/api/login/', async (req, ctx) => {
    const fields = loginFields(req);
    const cookieToken = parseCookies(req)[CSRF_COOKIE];
    const sent = req.headers['x-csrftoken'] ?? fields.csrfmiddlewaretoken;
    if (!cookieToken || !sent || cookieToken !== sent) throw new HttpError(403, { detail: 'CSRF Failed: CSRF token missing or incorrect.' });
    const user = await checkPassword(ctx, String(fields.username ?? ''), String(fields.password ?? ''), req.remoteAddress);
    if (!user) throw new HttpError(401, { detail: 'Invalid username or password. Please try again.' });
    const key = crypto.randomBytes(32).toString('base64url');
    const csrf = crypto.randomBytes(24).toString('base64url');
    // AWX's SESSION_COOKIE_AGE (seconds a session lasts) and SESSIONS_PER_USER (-1: any number; N: the newest N stay).
    const age = await readSetting(ctx.pool, 'SESSION_COOKIE_AGE', SESSION_SECONDS, (v) => isWholeNumber(v) && (v as number) >= 60);
    const perUser = await readSetting(ctx.pool, 'SESSIONS_PER_USER', -1, isWholeNumber);
    await ctx.pool.query(`INSERT INTO api_sessions (key_hash, user_id, csrf_token, expires) VALUES ($1, $2, $3, now() + $4 * interval '1 second')`,
      [sha256(key), user.id, csrf, age]);
    if (perUser > 0) {
      await ctx.pool.query(`DELETE FROM api_sessions WHERE user_id = $1 AND key_hash NOT IN
        (SELECT key_hash FROM api_sessions WHERE user_id = $1 ORDER BY created DESC, key_hash = $3 DESC LIMIT $2)`, [user.id, perUser, sha256(key)]);
    }
    await ctx.pool.query('UPDATE users SET last_login = now() WHERE id = $1', [user.id]);
    await ctx.pool.query('DELETE FROM api_sessions WHERE expires < now()');
    const next = typeof fields.next === 'string' && fields.next.startsWith('/') && !fields.next.startsWith('//') ? fields.next : '/api/';
    return { status: 302, headers: { location: next,
      'set-cookie': `${cookie(SESSION_COOKIE, key, age, true)}\n${cookie(CSRF_COOKIE, csrf, 31_449_600, false)}\n${cookie(LOGGED_IN_COOKIE, 'true', age, false)}` }, body: '' };
  }, { anonymousBody: true, maxBody: FORM_MAX_BYTES });

  router.get('/api/logout/', logout);
  router.post('/api/logout/', logout, { anonymousBody: true, maxBody: FORM_MAX_BYTES });
}

async function logout(req: ApiRequest, ctx: ApiContext) {
  const key = parseCookies(req)[SESSION_COOKIE];
  if (key) {
    if (req.method === 'POST') await requireCaller(req, ctx).catch(() => undefined);
    await ctx.pool.query('DELETE FROM api_sessions WHERE key_hash = $1', [sha256(key)]);
  }
  return { status: 302, headers: { location: '/api/', 'set-cookie': `${cookie(SESSION_COOKIE, '', 0, true)}\n${cookie(LOGGED_IN_COOKIE, 'false', 31_449_600, false)}` }, body: '' };
}
