import WebSocket from 'ws';
import { beforeAll, describe, expect, test } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { apiRequest, startTestWeb, webHeard } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { basicHeader } from './support.js';

/**
 * Query strings and cookies a client controls: a filter key or `order_by` naming a
 * property every JavaScript object has (`constructor`, `toString`) is an unknown field
 * (400 naming it), not a 500; an undecodable cookie is no credential (401), not a 500;
 * and a filter or ordering through a foreign key sees only the related objects the
 * caller may read, so a readable job template does not reveal its hidden inventory's name.
 */
let env: TestEnv;
let url: string;
let port: number;
const admin = { authorization: basicHeader('admin', 'admin-password') };
const olga = { authorization: basicHeader('olga', 'olga-pw') };
let zzzInventory: number;

const get = (path: string, headers: Record<string, string> = admin) => apiRequest(url, 'GET', path, undefined, headers);

async function grant(userId: number, type: string, id: number, field: string): Promise<void> {
  const { rows } = await env.pool.query<{ id: number }>(
    `INSERT INTO rbac_roles (resource_type, resource_id, role_field) VALUES ($1, $2, $3)
     ON CONFLICT (resource_type, resource_id, role_field) DO UPDATE SET role_field = EXCLUDED.role_field RETURNING id`, [type, id, field]);
  await env.pool.query('INSERT INTO rbac_role_users (role_id, user_id) VALUES ($1, $2)', [rows[0].id, userId]);
  await webHeard();
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  const olgaId = await createUser(env.pool, 'olga', 'olga-pw');
  const org = (await env.pool.query(`SELECT id FROM organizations WHERE name = 'Default'`)).rows[0].id;
  const project = (await env.pool.query(`SELECT id FROM projects WHERE name = 'Demo Project'`)).rows[0].id;
  const inv = async (name: string) => (await env.pool.query<{ id: number }>(
    'INSERT INTO inventories (name, organization_id) VALUES ($1, $2) RETURNING id', [name, org])).rows[0].id;
  const aaa = await inv('aaa-secret');
  zzzInventory = await inv('zzz-secret');
  for (const [name, inventory] of [['jt-1', zzzInventory], ['jt-2', aaa]] as const) {
    const { rows } = await env.pool.query<{ id: number }>(
      `INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook) VALUES ($1, $2, $3, $4, 'hello_world.yml') RETURNING id`,
      [name, org, inventory, project]);
    await grant(olgaId, 'job_template', rows[0].id, 'read_role');
  }
  ({ url, port } = await startTestWeb(env));
});

describe('hostile query strings', () => {
  test('filter keys and order_by naming Object.prototype properties answer 400 naming the field, and ping still works', async () => {
    for (const [query, field] of [['constructor=1', 'constructor'], ['toString__exact=1', 'toString'], ['__proto__=1', '__proto__'],
      ['hasOwnProperty=x', 'hasOwnProperty'], ['organization__constructor=1', 'constructor'], ['order_by=toString', 'toString'],
      ['order_by=-constructor', 'constructor'], ['order_by=organization__valueOf', 'valueOf'], ['order_by=__proto__', '__proto__']]) {
      const r = await get(`/api/v2/job_templates/?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.text, query).toContain(field);
    }
    expect((await get('/api/v2/ping/', {})).status).toBe(200);
  });
});

describe('malformed cookies', () => {
  const bad = 'sessionid=%E0%A4%A; csrftoken=%ZZ';

  test('an undecodable session cookie answers 401, never 500, and ping still works', async () => {
    expect((await get('/api/v2/me/', { cookie: bad })).status).toBe(401);
    expect((await get('/api/v2/job_templates/', { cookie: bad })).status).toBe(401);
    expect((await apiRequest(url, 'POST', '/api/v2/labels/', { name: 'l', organization: 1 }, { cookie: bad })).status).toBe(401);
    expect((await apiRequest(url, 'POST', '/api/logout/', undefined, { cookie: bad })).status).toBe(302);
    expect((await get('/api/login/', { cookie: bad })).status).toBe(200);
    expect((await get('/api/v2/ping/', { cookie: bad })).status).toBe(200);
    // Beside valid credentials, a broken cookie is ignored.
    expect((await get('/api/v2/me/', { ...admin, cookie: bad })).status).toBe(200);
  });

  test('a websocket upgrade with an undecodable cookie is refused as anonymous (403), not 500', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/websocket/`, { headers: { cookie: bad } });
      ws.once('unexpected-response', (_q, res) => resolve(res.statusCode!));
      ws.once('open', () => { ws.terminate(); resolve(101); });
      ws.once('error', reject);
    });
    expect(status).toBe(403);
  });
});

describe('filters and ordering through foreign keys', () => {
  test('filtering by a related object\'s field matches only related objects the caller may read', async () => {
    expect((await get('/api/v2/job_templates/?name__startswith=jt-', olga)).json.count).toBe(2);
    for (const q of ['inventory__name=zzz-secret', 'inventory__name__startswith=zzz', 'inventory__organization__name=Default',
      'or__inventory__name=aaa-secret&or__inventory__name=zzz-secret', 'not__inventory__name=zzz-secret']) {
      const r = await get(`/api/v2/job_templates/?name__startswith=jt-&${q}`, olga);
      expect(r.status, q).toBe(200);
      expect(r.json.count, q).toBe(q.startsWith('not__') ? 2 : 0);
    }
    // A superuser's filter sees every inventory.
    expect((await get('/api/v2/job_templates/?inventory__name=zzz-secret')).json.count).toBe(1);
    // Once olga may read the inventory, the filter finds it for her too.
    const olgaId = (await env.pool.query(`SELECT id FROM users WHERE username = 'olga'`)).rows[0].id;
    await grant(olgaId, 'inventory', zzzInventory, 'read_role');
    expect((await get('/api/v2/job_templates/?inventory__name=zzz-secret', olga)).json.count).toBe(1);
    await env.pool.query(`DELETE FROM rbac_role_users WHERE user_id = $1 AND role_id IN
      (SELECT id FROM rbac_roles WHERE resource_type = 'inventory')`, [olgaId]);
    await webHeard();
  });

  test('ordering by a related object\'s field does not reveal the order of objects the caller may not read', async () => {
    const names = async (order: string, headers: Record<string, string>) =>
      (await get(`/api/v2/job_templates/?name__startswith=jt-&order_by=${order}`, headers)).json.results.map((r: { name: string }) => r.name);
    expect(await names('inventory__name', admin)).toEqual(['jt-2', 'jt-1']);
    expect(await names('-inventory__name', admin)).toEqual(['jt-1', 'jt-2']);
    // For olga both inventories are hidden: they sort as unknown, by id both ways.
    expect(await names('inventory__name', olga)).toEqual(['jt-1', 'jt-2']);
    expect(await names('-inventory__name', olga)).toEqual(['jt-1', 'jt-2']);
  });
});
