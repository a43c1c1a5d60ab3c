import { beforeAll, describe, expect, it } from 'vitest';
import { insertCredential, loadCredentialInputs } from '../../src/db/credentials.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { createPool } from '../../src/db/pool.js';
import { verifyPassword } from '../../src/security/passwords.js';
import { createDatabase, useTestEnv, type TestEnv } from '../support/harness.js';
import { basicAuth, startTestWeb } from '../support/web.js';

let env: TestEnv;
let url: string;

beforeAll(async () => {
  env = await useTestEnv();
  const seeded = await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'correct horse battery' });
  expect(seeded.created).toBe(true);
  ({ url } = await startTestWeb(env));
});

describe('first start', () => {
  it('creates admin, Default organization and the demo set, once', async () => {
    const { rows } = await env.pool.query(`SELECT
      (SELECT count(*)::int FROM users WHERE username = 'admin' AND is_superuser) AS admins,
      (SELECT count(*)::int FROM organizations WHERE name = 'Default') AS orgs,
      (SELECT count(*)::int FROM projects WHERE name = 'Demo Project' AND scm_type = 'git') AS projects,
      (SELECT count(*)::int FROM hosts h JOIN inventories i ON i.id = h.inventory_id WHERE i.name = 'Demo Inventory' AND h.name = 'localhost') AS hosts,
      (SELECT count(*)::int FROM credentials WHERE name = 'Demo Credential') AS creds,
      (SELECT count(*)::int FROM job_templates WHERE name = 'Demo Job Template' AND playbook = 'hello_world.yml') AS jts`);
    expect(rows[0]).toEqual({ admins: 1, orgs: 1, projects: 1, hosts: 1, creds: 1, jts: 1 });
    expect(await seedFirstStart(env.pool, { dataDir: env.dataDir })).toEqual({ created: false });
  });

  it('generates and returns an admin password when none is configured', async () => {
    const db = await createDatabase();
    const pool = createPool(db.url, { max: 2 });
    try {
      const seeded = await seedFirstStart(pool, { dataDir: env.dataDir });
      expect(seeded.generatedPassword).toMatch(/^[\w-]{16}$/);
      const { rows } = await pool.query(`SELECT password FROM users WHERE username = 'admin'`);
      expect(rows[0].password).not.toContain(seeded.generatedPassword);
      expect(await verifyPassword(seeded.generatedPassword!, rows[0].password)).toBe(true);
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});

describe('authentication', () => {
  it('the admin authenticates with basic auth', async () => {
    const res = await fetch(`${url}/api/v2/me/`, { headers: basicAuth('admin', 'correct horse battery') });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-api-product-name')).toBe('Playstream');
    const body = await res.json();
    expect(body.count).toBe(1);
    expect(body.results[0]).toMatchObject({ username: 'admin', is_superuser: true, type: 'user', password: '$encrypted$' });
  });

  it('a wrong password gets 401, as does no credential at all', async () => {
    const wrong = await fetch(`${url}/api/v2/me/`, { headers: basicAuth('admin', 'wrong') });
    expect(wrong.status).toBe(401);
    const unknown = await fetch(`${url}/api/v2/me/`, { headers: basicAuth('nobody', 'x') });
    expect(unknown.status).toBe(401);
    const none = await fetch(`${url}/api/v2/me/`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
  });

  it('ping answers without credentials', async () => {
    const res = await fetch(`${url}/api/v2/ping/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: expect.any(String), active_node: env.config.nodeName });
  });
});

describe('credential secrets', () => {
  it('are not readable in the database in plain text, and decrypt for the runner', async () => {
    const secret = 'hunter2-very-secret-password';
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    const type = (await env.pool.query(`SELECT id FROM credential_types WHERE name = 'Machine'`)).rows[0].id;
    const id = await insertCredential(env.pool, env.secrets,
      { name: 'ssh', organization_id: null, credential_type_id: type, inputs: { username: 'deploy', password: secret, ssh_key_data: key } });
    const raw = await env.pool.query('SELECT inputs::text AS t FROM credentials WHERE id = $1', [id]);
    expect(raw.rows[0].t).toContain('deploy');
    expect(raw.rows[0].t).not.toContain(secret);
    expect(raw.rows[0].t).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
    const dump = await env.pool.query(`SELECT string_agg(t::text, '') AS all FROM credentials t`);
    expect(dump.rows[0].all).not.toContain(secret);
    expect(await loadCredentialInputs(env.pool, env.secrets, id)).toEqual({ username: 'deploy', password: secret, ssh_key_data: key });
  });
});
