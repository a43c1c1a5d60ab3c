import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';
import type { TestEnv } from '../support/harness.js';

/**
 * OAuth 2 applications and tokens as AWX serves them (/api/v2/applications/, /tokens/,
 * /api/o/token/, /api/o/authorize/, /api/o/revoke_token/), against a real server and
 * database: secrets shown once and stored hashed, each grant, scopes enforced, and the
 * attacks — another organization's admin, a read token writing, a revoked token, a wrong
 * client secret, a code replayed.
 */
let t: TestEnv;
let url: string;
let api: ApiCall;
let orgA: number;
let orgB: number;
const adminB = basicAuth('admin-b', 'admin-b-password');
const memberA = basicAuth('member-a', 'member-a-password');

function form(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(`${url}${path}`, { method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  orgA = (await api('POST', '/api/v2/organizations/', { name: 'Org A' })).json.id;
  orgB = (await api('POST', '/api/v2/organizations/', { name: 'Org B' })).json.id;
  for (const [name, org, role] of [['admin-b', orgB, 'admins'], ['member-a', orgA, 'users']] as const) {
    const u = await api('POST', '/api/v2/users/', { username: name, password: `${name}-password` });
    expect((await api('POST', `/api/v2/organizations/${org}/${role}/`, { id: u.json.id })).status).toBe(204);
  }
});

describe('OAuth 2 applications', () => {
  it('shows a confidential client secret once, stores only its hash, and hides it afterwards', async () => {
    const created = await api('POST', '/api/v2/applications/', { name: 'CI', organization: orgA, client_type: 'confidential',
      authorization_grant_type: 'password', redirect_uris: '' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ type: 'o_auth2_application', name: 'CI', organization: orgA, client_type: 'confidential' });
    expect(created.json.client_id).toMatch(/^[\w-]{40}$/);
    expect(created.json.client_secret).toMatch(/^[\w-]{40}$/);
    const [row] = (await t.pool.query('SELECT client_secret_hash FROM oauth2_applications WHERE id = $1', [created.json.id])).rows;
    expect(row.client_secret_hash).toHaveLength(64);
    expect(row.client_secret_hash).not.toContain(created.json.client_secret);
    const read = await api('GET', `/api/v2/applications/${created.json.id}/`);
    expect(read.json.client_secret).toBe('************');
    expect(read.json.summary_fields.tokens).toEqual({ count: 0, results: [] });
    const activity = JSON.stringify((await t.pool.query(`SELECT changes FROM activity_stream WHERE object1 = 'o_auth2_application'`)).rows);
    expect(activity).not.toContain(created.json.client_secret);
    expect(activity).not.toContain(row.client_secret_hash);

    const pub = await api('POST', '/api/v2/applications/', { name: 'SPA', organization: orgA, client_type: 'public',
      authorization_grant_type: 'authorization-code', redirect_uris: 'https://spa.example/cb' });
    expect(pub.status).toBe(201);
    expect(pub.json).not.toHaveProperty('client_secret');
  });

  it('refuses bad fields by name', async () => {
    const bad = async (body: Record<string, unknown>) => (await api('POST', '/api/v2/applications/',
      { name: `x${Math.random()}`, organization: orgA, client_type: 'public', authorization_grant_type: 'password', ...body })).json;
    expect(await bad({ client_type: 'secret' })).toHaveProperty('client_type');
    expect(await bad({ authorization_grant_type: 'implicit' })).toHaveProperty('authorization_grant_type');
    expect(await bad({ authorization_grant_type: 'authorization-code', redirect_uris: '' })).toHaveProperty('redirect_uris');
    expect(await bad({ redirect_uris: 'javascript:alert(1)' })).toHaveProperty('redirect_uris');
    const app = (await api('GET', '/api/v2/applications/?name=CI')).json.results[0];
    expect((await api('PATCH', `/api/v2/applications/${app.id}/`, { authorization_grant_type: 'authorization-code' })).json)
      .toHaveProperty('authorization_grant_type');
  });

  it("keeps another organization's admin out: no read, no change, no delete, no create in it, no moving it", async () => {
    const app = (await api('GET', '/api/v2/applications/?name=CI')).json.results[0];
    expect((await api('GET', '/api/v2/applications/', undefined, adminB)).json.count).toBe(0);
    expect((await api('GET', `/api/v2/applications/${app.id}/`, undefined, adminB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/applications/${app.id}/`, { description: 'mine' }, adminB)).status).toBe(403);
    expect((await api('DELETE', `/api/v2/applications/${app.id}/`, undefined, adminB)).status).toBe(403);
    expect((await api('POST', '/api/v2/applications/', { name: 'Sneaky', organization: orgA, client_type: 'public',
      authorization_grant_type: 'password' }, adminB)).status).toBe(403);
    expect((await api('POST', `/api/v2/applications/${app.id}/tokens/`, {}, adminB)).status).toBe(403);
    // Their own organization's application they make, but cannot move into org A.
    const own = await api('POST', '/api/v2/applications/', { name: 'B app', organization: orgB, client_type: 'public',
      authorization_grant_type: 'password' }, adminB);
    expect(own.status).toBe(201);
    expect((await api('PATCH', `/api/v2/applications/${own.json.id}/`, { organization: orgA }, adminB)).status).toBe(403);
    // A member of org A reads the application but does not change it.
    expect((await api('GET', `/api/v2/applications/${app.id}/`, undefined, memberA)).json.summary_fields.user_capabilities)
      .toEqual({ edit: false, delete: false });
    expect((await api('PATCH', `/api/v2/applications/${app.id}/`, { description: 'x' }, memberA)).status).toBe(403);
    expect((await t.pool.query('SELECT description, organization_id FROM oauth2_applications WHERE id = $1', [app.id])).rows[0])
      .toEqual({ description: '', organization_id: orgA });
  });
});

describe('tokens', () => {
  it('a read-scoped token reads and cannot write; a write token writes', async () => {
    const read = await api('POST', '/api/v2/users/1/personal_tokens/', { scope: 'read', description: 'ro' });
    expect(read.status).toBe(201);
    expect(read.json).toMatchObject({ scope: 'read', application: null, refresh_token: null });
    expect((await api('GET', '/api/v2/organizations/', undefined, bearer(read.json.token))).status).toBe(200);
    expect((await api('POST', '/api/v2/organizations/', { name: 'By read token' }, bearer(read.json.token))).status).toBe(403);
    expect((await api('PATCH', `/api/v2/organizations/${orgA}/`, { description: 'x' }, bearer(read.json.token))).status).toBe(403);
    const both = await api('POST', '/api/v2/tokens/', { scope: 'read  write' });
    expect(both.json.scope).toBe('read write');
    expect((await api('POST', '/api/v2/organizations/', { name: 'By write token' }, bearer(both.json.token))).status).toBe(201);
    expect((await api('POST', '/api/v2/tokens/', { scope: 'read read' })).json).toHaveProperty('scope');
    expect((await api('POST', '/api/v2/tokens/', { scope: 'admin' })).json).toHaveProperty('scope');
    expect((await api('POST', '/api/v2/users/1/personal_tokens/', { application: 1 })).json).toHaveProperty('application');
    // The scope can be narrowed later; the narrowed token stops writing.
    expect((await api('PATCH', `/api/v2/tokens/${both.json.id}/`, { scope: 'read' })).status).toBe(200);
    expect((await api('POST', '/api/v2/organizations/', { name: 'Not any more' }, bearer(both.json.token))).status).toBe(403);
  });

  it("an application's token comes with a refresh token; its organization's admin sees it, others do not", async () => {
    const app = (await api('GET', '/api/v2/applications/?name=CI')).json.results[0];
    const made = await api('POST', `/api/v2/applications/${app.id}/tokens/`, { scope: 'read' }, memberA);
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ application: app.id, scope: 'read' });
    expect(made.json.refresh_token).toMatch(/^[\w-]{40}$/);
    expect((await api('GET', `/api/v2/tokens/${made.json.id}/`, undefined, memberA)).json.refresh_token).toBe('************');
    expect((await api('GET', `/api/v2/applications/${app.id}/tokens/`)).json.count).toBe(1);
    expect((await api('GET', `/api/v2/applications/${app.id}/`)).json.summary_fields.tokens)
      .toEqual({ count: 1, results: [{ id: made.json.id, token: '************', scope: 'read' }] });
    expect((await api('GET', `/api/v2/tokens/${made.json.id}/`, undefined, adminB)).status).toBe(403);
    expect((await api('DELETE', `/api/v2/tokens/${made.json.id}/`, undefined, adminB)).status).toBe(403);
    expect((await api('GET', '/api/v2/users/1/authorized_tokens/')).json.count).toBe(0);
    const personal = (await api('GET', '/api/v2/users/1/personal_tokens/')).json.results[0];
    expect((await api('PATCH', `/api/v2/tokens/${personal.id}/`, { application: app.id })).json).toHaveProperty('application');
    expect((await api('GET', `/api/v2/tokens/${personal.id}/`)).json.application).toBeNull();
    expect((await t.pool.query('SELECT count(*)::int AS n FROM oauth2_refresh_tokens')).rows[0].n).toBe(1);
  });
});

describe('/api/o/', () => {
  let ci: { id: number; client_id: string; client_secret: string };

  beforeAll(async () => {
    const created = await api('POST', '/api/v2/applications/', { name: 'Grant', organization: orgA, client_type: 'confidential',
      authorization_grant_type: 'password' });
    ci = created.json;
  });

  it('issues a token by the password grant, refuses a wrong client secret, refreshes, and revokes', async () => {
    const wrong = await form('/api/o/token/', { grant_type: 'password', username: 'member-a', password: 'member-a-password', scope: 'read' },
      basicAuth(ci.client_id, 'not-the-secret'));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'invalid_client' });
    const badUser = await form('/api/o/token/', { grant_type: 'password', username: 'member-a', password: 'nope',
      client_id: ci.client_id, client_secret: ci.client_secret });
    expect(badUser.status).toBe(400);
    expect((await badUser.json()).error).toBe('invalid_grant');

    const ok = await form('/api/o/token/', { grant_type: 'password', username: 'member-a', password: 'member-a-password', scope: 'read' },
      basicAuth(ci.client_id, ci.client_secret));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const issued = await ok.json() as Record<string, any>;
    expect(issued).toMatchObject({ token_type: 'Bearer', scope: 'read' });
    const me = await api('GET', '/api/v2/me/', undefined, bearer(issued.access_token));
    expect(me.json.results[0].username).toBe('member-a');
    expect((await api('POST', '/api/v2/tokens/', {}, bearer(issued.access_token))).status).toBe(403);
    const bigger = await form('/api/o/token/', { grant_type: 'refresh_token', refresh_token: issued.refresh_token, scope: 'write' },
      basicAuth(ci.client_id, ci.client_secret));
    expect((await bigger.json()).error).toBe('invalid_scope');

    const refreshed = await (await form('/api/o/token/', { grant_type: 'refresh_token', refresh_token: issued.refresh_token },
      basicAuth(ci.client_id, ci.client_secret))).json() as Record<string, any>;
    expect(refreshed.scope).toBe('read');
    expect((await api('GET', '/api/v2/me/', undefined, bearer(issued.access_token))).status).toBe(401);
    expect((await api('GET', '/api/v2/me/', undefined, bearer(refreshed.access_token))).status).toBe(200);
    const again = await form('/api/o/token/', { grant_type: 'refresh_token', refresh_token: issued.refresh_token },
      basicAuth(ci.client_id, ci.client_secret));
    expect((await again.json()).error).toBe('invalid_grant');

    // Revocation needs the client's own credentials; a wrong secret revokes nothing.
    expect((await form('/api/o/revoke_token/', { token: refreshed.access_token }, basicAuth(ci.client_id, 'wrong'))).status).toBe(401);
    expect((await api('GET', '/api/v2/me/', undefined, bearer(refreshed.access_token))).status).toBe(200);
    expect((await form('/api/o/revoke_token/', { token: refreshed.access_token }, basicAuth(ci.client_id, ci.client_secret))).status).toBe(200);
    expect((await api('GET', '/api/v2/me/', undefined, bearer(refreshed.access_token))).status).toBe(401);
    const afterRevoke = await form('/api/o/token/', { grant_type: 'refresh_token', refresh_token: refreshed.refresh_token },
      basicAuth(ci.client_id, ci.client_secret));
    expect((await afterRevoke.json()).error).toBe('invalid_grant');
  });

  it('refuses the password grant to an authorization-code application and an unknown grant type', async () => {
    const spa = (await api('GET', '/api/v2/applications/?name=SPA')).json.results[0];
    const r = await form('/api/o/token/', { grant_type: 'password', username: 'admin', password: 'admin-password', client_id: spa.client_id });
    expect((await r.json()).error).toBe('unauthorized_client');
    const x = await form('/api/o/token/', { grant_type: 'client_credentials', client_id: ci.client_id, client_secret: ci.client_secret });
    expect((await x.json()).error).toBe('unsupported_grant_type');
  });

  it('runs the authorization-code grant: a logged-in user authorizes, the code works once with its redirect URI', async () => {
    const app = (await api('POST', '/api/v2/applications/', { name: 'Web', organization: orgA, client_type: 'confidential',
      authorization_grant_type: 'authorization-code', redirect_uris: 'https://app.example/cb https://app.example/other' })).json;
    const login = await fetch(`${url}/api/login/`);
    const csrf = /csrftoken=([^;]+)/.exec(login.headers.get('set-cookie')!)![1];
    const loggedIn = await form('/api/login/', { username: 'member-a', password: 'member-a-password' },
      { cookie: `csrftoken=${csrf}`, 'x-csrftoken': csrf });
    const cookies = loggedIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const session = { cookie: cookies };
    const sessionCsrf = /csrftoken=([^;]+)/.exec(cookies)![1];
    const query = new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: 'https://app.example/cb', scope: 'read', state: 's1' });

    const anonymous = await fetch(`${url}/api/o/authorize/?${query}`, { redirect: 'manual' });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toMatch(/^\/api\/login\/\?next=/);
    const page = await fetch(`${url}/api/o/authorize/?${query}`, { headers: session, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Authorize Web?');
    const evil = await fetch(`${url}/api/o/authorize/?${new URLSearchParams({ response_type: 'code', client_id: app.client_id,
      redirect_uri: 'https://evil.example/cb' })}`, { headers: session, redirect: 'manual' });
    expect(evil.status).toBe(400);

    const denied = await form('/api/o/authorize/', { ...Object.fromEntries(query), csrfmiddlewaretoken: sessionCsrf }, session);
    expect(new URL(denied.headers.get('location')!).searchParams.get('error')).toBe('access_denied');
    const noCsrf = await form('/api/o/authorize/', { ...Object.fromEntries(query), allow: 'Authorize' }, session);
    expect(noCsrf.status).toBe(403);
    const allowed = await form('/api/o/authorize/', { ...Object.fromEntries(query), allow: 'Authorize', csrfmiddlewaretoken: sessionCsrf }, session);
    expect(allowed.status).toBe(302);
    const back = new URL(allowed.headers.get('location')!);
    expect(back.origin + back.pathname).toBe('https://app.example/cb');
    expect(back.searchParams.get('state')).toBe('s1');
    const code = back.searchParams.get('code')!;

    const wrongUri = { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/other' };
    expect((await (await form('/api/o/token/', wrongUri, basicAuth(app.client_id, app.client_secret))).json()).error).toBe('invalid_grant');
    // The mismatched attempt spent the code: a stolen code is good for one try at most.
    const exchange = { grant_type: 'authorization_code', code, redirect_uri: 'https://app.example/cb' };
    expect((await (await form('/api/o/token/', exchange, basicAuth(app.client_id, app.client_secret))).json()).error).toBe('invalid_grant');

    const second = await form('/api/o/authorize/', { ...Object.fromEntries(query), allow: 'Authorize', csrfmiddlewaretoken: sessionCsrf }, session);
    const code2 = new URL(second.headers.get('location')!).searchParams.get('code')!;
    const ok = await form('/api/o/token/', { ...exchange, code: code2 }, basicAuth(app.client_id, app.client_secret));
    const issued = await ok.json() as Record<string, any>;
    expect(issued.scope).toBe('read');
    expect((await api('GET', '/api/v2/me/', undefined, bearer(issued.access_token))).json.results[0].username).toBe('member-a');
    const replay = await form('/api/o/token/', { ...exchange, code: code2 }, basicAuth(app.client_id, app.client_secret));
    expect((await replay.json()).error).toBe('invalid_grant');
    expect((await t.pool.query('SELECT count(*)::int AS n FROM oauth2_grants')).rows[0].n).toBe(0);
  });

  it("takes its lifetimes from the OAUTH2_PROVIDER setting: an expired refresh token is AWX's 403", async () => {
    expect((await api('PATCH', '/api/v2/settings/authentication/', { OAUTH2_PROVIDER: { REFRESH_TOKEN_EXPIRE_SECONDS: 0 } })).json)
      .toHaveProperty('OAUTH2_PROVIDER');
    expect((await api('PATCH', '/api/v2/settings/authentication/', { OAUTH2_PROVIDER: { ACCESS_TOKEN_EXPIRE_SECONDS: 120, REFRESH_TOKEN_EXPIRE_SECONDS: 1 } })).status)
      .toBe(200);
    const issued = await (await form('/api/o/token/', { grant_type: 'password', username: 'member-a', password: 'member-a-password' },
      basicAuth(ci.client_id, ci.client_secret))).json() as Record<string, any>;
    expect(issued.expires_in).toBeGreaterThan(100);
    expect(issued.expires_in).toBeLessThanOrEqual(120);
    await new Promise((r) => setTimeout(r, 1500));
    const late = await form('/api/o/token/', { grant_type: 'refresh_token', refresh_token: issued.refresh_token }, basicAuth(ci.client_id, ci.client_secret));
    expect(late.status).toBe(403);
    expect(await late.json()).toEqual({ detail: 'The refresh token has expired.' });
    expect((await api('PATCH', '/api/v2/settings/authentication/', { OAUTH2_PROVIDER: {} })).status).toBe(200);
  });

  it('a password change ends the tokens and refresh tokens of the user', async () => {
    const ok = await (await form('/api/o/token/', { grant_type: 'password', username: 'member-a', password: 'member-a-password' },
      basicAuth(ci.client_id, ci.client_secret))).json() as Record<string, any>;
    const u = (await api('GET', '/api/v2/users/?username=member-a')).json.results[0];
    expect((await api('PATCH', `/api/v2/users/${u.id}/`, { password: 'member-a-password-2' })).status).toBe(200);
    expect((await api('GET', '/api/v2/me/', undefined, bearer(ok.access_token))).status).toBe(401);
    const r = await form('/api/o/token/', { grant_type: 'refresh_token', refresh_token: ok.refresh_token }, basicAuth(ci.client_id, ci.client_secret));
    expect((await r.json()).error).toBe('invalid_grant');
  });
});
