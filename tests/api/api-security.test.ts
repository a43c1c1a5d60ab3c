import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * The API's conventions and security against a real server: AWX pages and filters,
 * authentication, cross-organization isolation, secrets never returned, hostile filters
 * rejected, and prompts a template does not allow reported in ignored_fields.
 */
let env: TestEnv;
let url: string;
const admin = basicAuth('admin', 'admin-password');

function api(method: string, path: string, body?: unknown, headers: Record<string, string> = admin) {
  return apiRequest(url, method, path, body, headers);
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
});

describe('API v2', () => {
  it('answers 401 without credentials and with wrong ones', async () => {
    expect((await api('GET', '/api/v2/organizations/', undefined, {})).status).toBe(401);
    expect((await api('GET', '/api/v2/jobs/', undefined, basicAuth('admin', 'nope'))).status).toBe(401);
  });

  it('lists as AWX pages with filters, order_by, named URLs and summary fields', async () => {
    const page = await api('GET', '/api/v2/job_templates/?name__icontains=demo&order_by=-name&page_size=5');
    expect(page.status).toBe(200);
    expect(page.json.count).toBe(1);
    const jt = page.json.results[0];
    expect(jt).toMatchObject({ type: 'job_template', url: `/api/v2/job_templates/${jt.id}/`, name: 'Demo Job Template' });
    expect(jt.summary_fields.organization.name).toBe('Default');
    expect(jt.summary_fields.user_capabilities).toMatchObject({ edit: true, start: true });
    expect(jt.summary_fields.object_roles.execute_role.id).toBeGreaterThan(0);
    const named = await api('GET', '/api/v2/job_templates/Demo Job Template++Default/'.replace(/ /g, '%20'));
    expect(named.json.id).toBe(jt.id);
    const across = await api('GET', '/api/v2/job_templates/?organization__name=Default&or__id=999999&or__name=Demo%20Job%20Template');
    expect(across.json.count).toBe(1);
    expect((await api('GET', '/api/v2/job_templates/?organization__name=Nope')).json.count).toBe(0);
  });

  it('rejects hostile filter and order_by values with 400', async () => {
    for (const q of ['order_by=name;DROP TABLE users', 'order_by=password', 'name__regex=.*', 'id=1 OR 1=1',
      'password__startswith=scrypt', 'organization__users__password=x', "name'--=1", 'page_size=abc']) {
      const r = await api('GET', `/api/v2/users/?${q}`);
      expect(r.status, q).toBe(400);
    }
    expect((await api('GET', '/api/v2/users/')).json.count).toBeGreaterThan(0);
  });

  it('keeps secrets out of every response and the activity stream, and "$encrypted$" keeps the stored value', async () => {
    const types = await api('GET', '/api/v2/credential_types/?name=Machine&kind=ssh');
    const created = await api('POST', '/api/v2/credentials/', { name: 'sekrit', organization: 1, credential_type: types.json.results[0].id,
      inputs: { username: 'bob', password: 'hunter2-very-secret' } });
    expect(created.status).toBe(201);
    expect(created.json.inputs).toEqual({ username: 'bob', password: '$encrypted$' });
    const patched = await api('PATCH', `/api/v2/credentials/${created.json.id}/`, { inputs: { username: 'alice', password: '$encrypted$' } });
    expect(patched.status).toBe(200);
    const { rows } = await env.pool.query('SELECT inputs FROM credentials WHERE id = $1', [created.json.id]);
    expect(env.secrets.decrypt(rows[0].inputs.password)).toBe('hunter2-very-secret');
    for (const path of ['/api/v2/credentials/', `/api/v2/credentials/${created.json.id}/`, '/api/v2/activity_stream/?page_size=200']) {
      expect((await api('GET', path)).text).not.toContain('hunter2');
    }
    const { rows: stream } = await env.pool.query('SELECT changes::text AS c FROM activity_stream');
    expect(stream.map((r) => r.c).join('')).not.toContain('hunter2');
    expect(stream.length).toBeGreaterThan(0);
  });

  it('isolates organizations: lists are filtered, direct access is 403, changes are refused', async () => {
    const org = await api('POST', '/api/v2/organizations/', { name: 'Other' });
    expect(org.status).toBe(201);
    const user = await api('POST', `/api/v2/organizations/${org.json.id}/users/`, { username: 'olga', password: 'olga-pass' });
    expect(user.status).toBe(201);
    const inv = await api('POST', '/api/v2/inventories/', { name: 'Other Inv', organization: org.json.id });
    expect(inv.status).toBe(201);
    const roles = inv.json.summary_fields.object_roles;
    expect((await api('POST', `/api/v2/roles/${roles.read_role.id}/users/`, { id: user.json.id })).status).toBe(204);
    const olga = basicAuth('olga', 'olga-pass');
    const invs = await api('GET', '/api/v2/inventories/', undefined, olga);
    expect(invs.json.results.map((i: any) => i.name)).toEqual(['Other Inv']);
    expect((await api('GET', '/api/v2/job_templates/', undefined, olga)).json.count).toBe(0);
    const demo = (await api('GET', '/api/v2/inventories/?name=Demo Inventory')).json.results[0];
    expect((await api('GET', `/api/v2/inventories/${demo.id}/`, undefined, olga)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/inventories/${demo.id}/`, { name: 'x' }, olga)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/inventories/${inv.json.id}/`, { name: 'x' }, olga)).status).toBe(403);
    expect((await api('GET', '/api/v2/organizations/', undefined, olga)).json.results.map((o: any) => o.name)).toEqual(['Other']);
    expect((await api('GET', '/api/v2/jobs/', undefined, olga)).json.count).toBe(0);
  });

  it('launch puts prompts the template does not allow in ignored_fields', async () => {
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
    await api('PATCH', `/api/v2/job_templates/${jt.id}/`, { ask_limit_on_launch: true });
    const launched = await api('POST', `/api/v2/job_templates/${jt.id}/launch/`, { limit: 'localhost', job_tags: 'x', extra_vars: { a: 1 } });
    expect(launched.status).toBe(201);
    expect(launched.json.ignored_fields).toEqual({ job_tags: 'x', extra_vars: { a: 1 } });
    expect(launched.json.limit).toBe('localhost');
    const job = await api('GET', `/api/v2/jobs/?unified_job_template=${jt.id}&order_by=-id`);
    expect(job.json.results[0].id).toBe(launched.json.id);
    expect(job.json.results[0].summary_fields.job_template.name).toBe('Demo Job Template');
    expect((await api('POST', `/api/v2/jobs/${launched.json.id}/cancel/`, {})).status).toBe(202);
    expect((await api('POST', `/api/v2/jobs/${launched.json.id}/cancel/`, {})).status).toBe(405);
  });

  it('session login needs the CSRF token; tokens authenticate and a read token cannot write', async () => {
    const first = await api('GET', '/api/login/', undefined, {});
    const csrf = /csrftoken=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')![1];
    const noCsrf = await api('POST', '/api/login/', undefined, { cookie: `csrftoken=${csrf}` });
    expect(noCsrf.status).toBe(403);
    const login = await fetch(`${url}/api/login/`, { method: 'POST', redirect: 'manual', headers: { cookie: `csrftoken=${csrf}`, 'x-csrftoken': csrf,
      'content-type': 'application/x-www-form-urlencoded' }, body: 'username=admin&password=admin-password' });
    expect(login.status).toBe(302);
    const cookies = login.headers.getSetCookie();
    const session = /sessionid=([^;]+)/.exec(cookies.join(';'))![1];
    const newCsrf = /csrftoken=([^;]+)/.exec(cookies.join(';'))![1];
    const cookie = `sessionid=${session}; csrftoken=${newCsrf}`;
    expect((await api('GET', '/api/v2/me/', undefined, { cookie })).json.results[0].username).toBe('admin');
    expect((await api('POST', '/api/v2/labels/', { name: 'l1', organization: 1 }, { cookie })).status).toBe(403);
    expect((await api('POST', '/api/v2/labels/', { name: 'l1', organization: 1 }, { cookie, 'x-csrftoken': newCsrf })).status).toBe(201);
    const tok = await api('POST', '/api/v2/tokens/', { scope: 'read', description: 't' });
    expect(tok.status).toBe(201);
    const bearer = { authorization: `Bearer ${tok.json.token}` };
    expect((await api('GET', '/api/v2/organizations/', undefined, bearer)).status).toBe(200);
    expect((await api('POST', '/api/v2/labels/', { name: 'l2', organization: 1 }, bearer)).status).toBe(403);
    expect((await api('DELETE', `/api/v2/tokens/${tok.json.id}/`)).status).toBe(204);
    expect((await api('GET', '/api/v2/organizations/', undefined, bearer)).status).toBe(401);
  });

  it('shapes validation errors as AWX does and associates by id', async () => {
    const bad = await api('POST', '/api/v2/hosts/', { name: 'h', inventory: 'x', enabled: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ inventory: ['A valid integer is required.'], enabled: ['Must be a valid boolean.'] });
    const dup = await api('POST', '/api/v2/organizations/', { name: 'Default' });
    expect(dup.status).toBe(400);
    expect(dup.json.__all__[0]).toContain('already exists');
    const inv = (await api('GET', '/api/v2/inventories/?name=Demo Inventory')).json.results[0];
    const group = await api('POST', '/api/v2/groups/', { name: 'g1', inventory: inv.id });
    const host = (await api('GET', `/api/v2/inventories/${inv.id}/hosts/`)).json.results[0];
    expect((await api('POST', `/api/v2/groups/${group.json.id}/hosts/`, { id: host.id })).status).toBe(204);
    expect((await api('GET', `/api/v2/groups/${group.json.id}/hosts/`)).json.count).toBe(1);
    expect((await api('POST', `/api/v2/groups/${group.json.id}/hosts/`, { id: host.id, disassociate: true })).status).toBe(204);
    expect((await api('GET', `/api/v2/groups/${group.json.id}/hosts/`)).json.count).toBe(0);
  });
});
