import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReadCache } from '../../src/api/cache/read-cache.js';
import { startWebServer } from '../../src/api/server.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { onCleanup, useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * The web process's read cache (src/api/cache): repeated reads are served from it, a write
 * through the API is seen by the next read, a write committed by another process once its
 * NOTIFY arrives, a change retires only the answers read from its table, and nobody is
 * served a page built for someone else.
 */
let env: TestEnv;
let url: string;
const admin = basicAuth('admin', 'admin-password');

function api(method: string, path: string, body?: unknown, headers: Record<string, string> = admin, base = url) {
  return apiRequest(base, method, path, body, headers);
}

/** A connection of its own, as another process (dispatcher, receiver, another node, psql) would write. */
async function otherProcess(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: env.databaseUrl });
  await c.connect();
  onCleanup(() => c.end());
  return c;
}

/** A change no trigger reports (session_replication_role = replica skips triggers): only an uncached read sees it. */
async function unheardUpdate(c: pg.Client, sql: string, values: unknown[]): Promise<void> {
  await c.query('SET session_replication_role = replica');
  try { await c.query(sql, values); } finally { await c.query('SET session_replication_role = DEFAULT'); }
}

/** Polls `read` until `done` holds; returns the milliseconds it took. */
async function within<T>(ms: number, read: () => Promise<T>, done: (v: T) => boolean): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (done(await read())) return performance.now() - start;
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const description = async (path: string, headers = admin, base = url) => (await api('GET', path, undefined, headers, base)).json.description;

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
});

describe('API read cache', () => {
  it('keeps an answer until a table it read changes: a write is seen by the next read, unrelated pages stay cached', async () => {
    const org = (await api('POST', '/api/v2/organizations/', { name: 'Kept', description: 'v1' })).json;
    const cred = (await api('GET', '/api/v2/credential_types/?page_size=1')).json.results[0];
    const orgPath = `/api/v2/organizations/${org.id}/`;
    const typePath = `/api/v2/credential_types/${cred.id}/`;
    expect(await description(orgPath)).toBe('v1');
    expect(await description(typePath)).toBe(cred.description);
    const sql = await otherProcess();
    await unheardUpdate(sql, 'UPDATE organizations SET description = $2 WHERE id = $1', [org.id, 'unheard org']);
    await unheardUpdate(sql, 'UPDATE credential_types SET description = $2 WHERE id = $1', [cred.id, 'unheard type']);
    expect(await description(orgPath)).toBe('v1'); // both served from the cache
    expect(await description(typePath)).toBe(cred.description);

    // A write through the API: its own next read sees it (the reply waited until this
    // process heard its change); the credential type page, which reads no organization, stays.
    expect((await api('PATCH', orgPath, { name: 'Kept 2' })).status).toBe(200);
    const after = (await api('GET', orgPath)).json;
    expect([after.name, after.description]).toEqual(['Kept 2', 'unheard org']);
    expect(await description(typePath)).toBe(cred.description);

    // A change another process commits to a table the page does not read leaves it too;
    // one to its own table retires it once heard.
    await sql.query(`UPDATE hosts SET description = 'elsewhere' WHERE false`);
    await sql.query(`INSERT INTO labels (name, organization_id) VALUES ('elsewhere', $1)`, [org.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect(await description(typePath)).toBe(cred.description);
    await sql.query('UPDATE credential_types SET name = name WHERE id = $1', [cred.id]);
    await within(1000, () => description(typePath), (d) => d === 'unheard type');
    // A failed write retires what it may have changed too (here: nothing was committed, the next read is still right).
    expect((await api('POST', '/api/v2/organizations/', { name: 'Default' })).status).toBe(400);
    expect(await description(orgPath)).toBe('unheard org');
  });

  it('forgets everything when a write of its own is not heard back in time (no LISTEN connection)', async () => {
    // A cache that hears nothing from Postgres: a write's barrier never comes back.
    const cache = new ReadCache(1024 * 1024);
    cache.pages.enable();
    cache.auth.enable();
    const server = await startWebServer(env, { host: '127.0.0.1', port: 0, readCache: cache });
    onCleanup(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;
    const org = (await api('POST', '/api/v2/organizations/', { name: 'Deaf', description: 'v1' }, admin, base)).json;
    expect(await description(`/api/v2/organizations/${org.id}/`, admin, base)).toBe('v1');
    const sql = await otherProcess();
    await sql.query('UPDATE organizations SET description = $2 WHERE id = $1', [org.id, 'unheard']);
    expect(await description(`/api/v2/organizations/${org.id}/`, admin, base)).toBe('v1');
    const patched = await api('PATCH', `/api/v2/organizations/${org.id}/`, { name: 'Deaf 2' }, admin, base);
    expect(patched.status).toBe(200);
    const page = await api('GET', '/api/v2/organizations/?name__startswith=Deaf', undefined, admin, base);
    expect(page.json.results.map((o: any) => [o.name, o.description])).toEqual([['Deaf 2', 'unheard']]);
  });

  it('shows a change committed by another process to the next reads once its NOTIFY arrives', async () => {
    const org = (await api('POST', '/api/v2/organizations/', { name: 'Elsewhere', description: 'v1' })).json;
    const path = `/api/v2/organizations/${org.id}/`;
    const sql = await otherProcess();
    expect(await description(path)).toBe('v1');
    await unheardUpdate(sql, 'UPDATE organizations SET description = $2 WHERE id = $1', [org.id, 'unheard']);
    expect(await description(path)).toBe('v1'); // served from the cache
    await sql.query('UPDATE organizations SET description = $2 WHERE id = $1', [org.id, 'v2']);
    expect(await within(1000, () => description(path), (d) => d === 'v2')).toBeLessThan(1000);
    const heard = (await api('GET', '/api/v2/metrics/')).text;
    expect(Number(/^api_read_cache_change_delay_seconds_count\{[^}]*\} (\d+)$/m.exec(heard)?.[1])).toBeGreaterThan(0);
    // Rows a page shows through other tables: the summary of a job template's organization.
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).json.results[0];
    const orgName = async () => (await api('GET', `/api/v2/job_templates/${jt.id}/`)).json.summary_fields.organization.name;
    expect(await orgName()).toBe('Default');
    await sql.query(`UPDATE organizations SET name = 'Renamed' WHERE id = $1`, [jt.organization]);
    await within(1000, orgName, (n) => n === 'Renamed');
    await sql.query(`UPDATE organizations SET name = 'Default' WHERE id = $1`, [jt.organization]);
    await within(1000, orgName, (n) => n === 'Default');
  });

  it('never serves one user a page cached for another, and follows role changes', async () => {
    const orgA = (await api('POST', '/api/v2/organizations/', { name: 'Org A' })).json;
    const orgB = (await api('POST', '/api/v2/organizations/', { name: 'Org B' })).json;
    await api('POST', `/api/v2/organizations/${orgA.id}/users/`, { username: 'alice', password: 'alice-pass' });
    await api('POST', `/api/v2/organizations/${orgB.id}/users/`, { username: 'bob', password: 'bob-pass' });
    const alice = basicAuth('alice', 'alice-pass');
    const bob = basicAuth('bob', 'bob-pass');
    const users = (await api('GET', '/api/v2/users/?username__in=alice,bob&order_by=username')).json.results;
    await api('POST', `/api/v2/roles/${orgA.summary_fields.object_roles.admin_role.id}/users/`, { id: users[0].id });
    const inv = (await api('POST', '/api/v2/inventories/', { name: 'Inv A', organization: orgA.id })).json;
    const names = async (headers: Record<string, string>) =>
      (await api('GET', '/api/v2/inventories/', undefined, headers)).json.results.map((i: any) => i.name);

    // The same URLs, alice first (her answers cached), then bob.
    expect(await names(alice)).toEqual(['Inv A']);
    expect((await api('GET', `/api/v2/inventories/${inv.id}/`, undefined, alice)).json.summary_fields.user_capabilities.edit).toBe(true);
    expect((await api('GET', '/api/v2/organizations/', undefined, alice)).json.results.map((o: any) => o.name)).toEqual(['Org A']);
    expect(await names(bob)).toEqual([]);
    expect((await api('GET', `/api/v2/inventories/${inv.id}/`, undefined, bob)).status).toBe(403);
    expect((await api('GET', '/api/v2/organizations/', undefined, bob)).json.results.map((o: any) => o.name)).toEqual(['Org B']);
    // And bob first, then alice, on a URL neither has read yet.
    expect((await api('GET', '/api/v2/inventories/?order_by=-id', undefined, bob)).json.count).toBe(0);
    expect((await api('GET', '/api/v2/inventories/?order_by=-id', undefined, alice)).json.count).toBe(1);

    // A role granted by another process reaches bob's cached list; one revoked through the API, his next read.
    const readRole = inv.summary_fields.object_roles.read_role.id;
    const sql = await otherProcess();
    await sql.query('INSERT INTO rbac_role_users (role_id, user_id) VALUES ($1, $2)', [readRole, users[1].id]);
    await within(1000, () => names(bob), (n) => n.length === 1);
    const detail = await api('GET', `/api/v2/inventories/${inv.id}/`, undefined, bob);
    expect(detail.status).toBe(200);
    expect(detail.json.summary_fields.user_capabilities.edit).toBe(false);
    expect((await api('POST', `/api/v2/roles/${readRole}/users/`, { id: users[1].id, disassociate: true })).status).toBe(204);
    expect(await names(bob)).toEqual([]);
    expect((await api('GET', `/api/v2/inventories/${inv.id}/`, undefined, bob)).status).toBe(403);
  });

  it('stops accepting a token revoked, or a user deactivated, by another process once heard', async () => {
    const sql = await otherProcess();
    const token = (await api('POST', '/api/v2/tokens/', { scope: 'read', description: 'cached' })).json;
    const bearer = { authorization: `Bearer ${token.token}` };
    const orgs = async () => (await api('GET', '/api/v2/organizations/', undefined, bearer)).status;
    expect(await orgs()).toBe(200);
    await sql.query('DELETE FROM api_tokens WHERE id = $1', [token.id]);
    await within(1000, orgs, (s) => s === 401);

    await api('POST', '/api/v2/users/', { username: 'carol', password: 'carol-pass' });
    const carol = basicAuth('carol', 'carol-pass');
    const carolToken = (await api('POST', '/api/v2/tokens/', { scope: 'read' }, carol)).json.token;
    const carolBearer = { authorization: `Bearer ${carolToken}` };
    expect((await api('GET', '/api/v2/organizations/', undefined, carolBearer)).status).toBe(200);
    await sql.query(`UPDATE users SET is_active = false WHERE username = 'carol'`);
    await within(1000, async () => (await api('GET', '/api/v2/organizations/', undefined, carolBearer)).status, (s) => s === 401);
  });

  it('never hides a change made while its LISTEN connection was down, and serves again once it is back', async () => {
    const org = (await api('POST', '/api/v2/organizations/', { name: 'Partitioned', description: 'v1' })).json;
    const path = `/api/v2/organizations/${org.id}/`;
    expect(await description(path)).toBe('v1');
    const sql = await otherProcess();
    const listeners = `SELECT pid FROM pg_stat_activity WHERE application_name = 'web-api-changes' AND datname = current_database()`;
    const { rows } = await sql.query(listeners);
    expect(rows.length).toBeGreaterThan(0);
    await sql.query(`SELECT pg_terminate_backend(pid) FROM (${listeners}) l`);
    await sql.query('UPDATE organizations SET description = $2 WHERE id = $1', [org.id, 'while down']);
    await within(3000, () => description(path), (d) => d === 'while down');
    // Back: the listener reconnects and the cache serves again.
    let attempt = 0;
    await within(5000, async () => {
      const before = await description(path);
      await unheardUpdate(sql, 'UPDATE organizations SET description = $2 WHERE id = $1', [org.id, `unheard ${++attempt}`]);
      return (await description(path)) === before;
    }, (cached) => cached);
  });

  it('is off when a table lacks the change trigger (a later migration forgot it)', async () => {
    const ok = new ReadCache(1024);
    await ok.start(env.databaseUrl);
    onCleanup(() => ok.close());
    expect(ok.unwatched).toEqual([]);
    expect(ok.live).toBe(true);
    await env.pool.query('CREATE TABLE forgotten_table (id int)');
    const off = new ReadCache(1024);
    await off.start(env.databaseUrl);
    onCleanup(() => off.close());
    expect(off.unwatched).toEqual(['forgotten_table']);
    expect(off.live).toBe(false);
    await env.pool.query('DROP TABLE forgotten_table');
  });
});
