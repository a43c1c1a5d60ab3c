import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * Issue #15: the authentication settings SESSION_COOKIE_AGE, SESSIONS_PER_USER and
 * AUTH_BASIC_ENABLED were stored and ignored; logins and requests now follow them as AWX's do.
 */
let env: TestEnv;
let url: string;
const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = basicAuth('admin', 'admin-password')) =>
  apiRequest(url, method, path, body, headers);

async function login(): Promise<{ cookie: string; maxAge: number }> {
  const first = await api('GET', '/api/login/', undefined, {});
  const csrf = /csrftoken=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')![1];
  const res = await fetch(`${url}/api/login/`, { method: 'POST', redirect: 'manual', headers: { cookie: `csrftoken=${csrf}`, 'x-csrftoken': csrf,
    'content-type': 'application/x-www-form-urlencoded' }, body: 'username=admin&password=admin-password' });
  expect(res.status).toBe(302);
  const set = res.headers.getSetCookie().find((c) => c.startsWith('sessionid='))!;
  return { cookie: set.split(';')[0], maxAge: Number(/Max-Age=(\d+)/.exec(set)![1]) };
}
const me = async (cookie: string) => (await api('GET', '/api/v2/me/', undefined, { cookie })).status;

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
});

describe('session settings', () => {
  it('SESSION_COOKIE_AGE sets how long a new session lasts; out of AWX\'s bounds is a 400', async () => {
    expect((await api('PATCH', '/api/v2/settings/authentication/', { SESSION_COOKIE_AGE: '600' })).status).toBe(200);
    const s = await login();
    expect(s.maxAge).toBe(600);
    const { rows: [row] } = await env.pool.query(`SELECT extract(epoch FROM expires - now())::int AS left FROM api_sessions ORDER BY created DESC LIMIT 1`);
    expect(row.left).toBeGreaterThan(590);
    expect(row.left).toBeLessThanOrEqual(600);
    const bad = await api('PATCH', '/api/v2/settings/authentication/', { SESSION_COOKIE_AGE: 5 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json)).toEqual(['SESSION_COOKIE_AGE']);
  });

  it('SESSIONS_PER_USER keeps only the newest sessions of a user', async () => {
    expect((await api('PATCH', '/api/v2/settings/authentication/', { SESSIONS_PER_USER: 1 })).status).toBe(200);
    const older = await login();
    expect(await me(older.cookie)).toBe(200);
    const newer = await login();
    expect(await me(newer.cookie)).toBe(200);
    expect(await me(older.cookie)).toBe(401);
    expect((await api('PATCH', '/api/v2/settings/authentication/', { SESSIONS_PER_USER: -2 })).status).toBe(400);
  });

  it('the login page\'s customisations show on /api/ before logging in', async () => {
    await api('PATCH', '/api/v2/settings/ui/', { CUSTOM_LOGIN_INFO: 'Authorized use only' });
    await api('PATCH', '/api/v2/settings/authentication/', { LOGIN_REDIRECT_OVERRIDE: 'https://sso.example.com/' });
    expect((await api('GET', '/api/', undefined, {})).json).toMatchObject({ custom_login_info: 'Authorized use only',
      login_redirect_override: 'https://sso.example.com/', custom_logo: '' });
  });

  it('AUTH_BASIC_ENABLED off refuses basic auth; tokens and the login form still work', async () => {
    const token = (await api('POST', '/api/v2/tokens/', { scope: 'write', description: 'keep a way in' })).json.token;
    const bearer = { authorization: `Bearer ${token}` };
    expect((await api('PATCH', '/api/v2/settings/authentication/', { AUTH_BASIC_ENABLED: 'false' })).json.AUTH_BASIC_ENABLED).toBe(false);
    expect((await api('GET', '/api/v2/me/')).status).toBe(401);
    expect((await api('GET', '/api/v2/me/', undefined, bearer)).status).toBe(200);
    expect(await me((await login()).cookie)).toBe(200);
    expect((await api('PATCH', '/api/v2/settings/authentication/', { AUTH_BASIC_ENABLED: true }, bearer)).status).toBe(200);
    expect((await api('GET', '/api/v2/me/')).status).toBe(200);
  });
});
