import { beforeAll, describe, expect, test } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, grantRole, startTestWeb, webHeard } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';

/**
 * Issue #12, links and prompts: RBAC checked that a linked object exists, not that the
 * caller may use it. Two organizations, Alpha and Beta; bob administers Beta and holds
 * nothing in Alpha. Each test is one attack the issue reports (or one its rule implies):
 * bob points something of Beta's at something of Alpha's, or launches with it, or an
 * organization admin administers a user who is not theirs alone. Every attack answered
 * 2xx before this change; each must now be 403 and leave nothing behind. A control next
 * to each attack shows that the legitimate form of the same request still works.
 */
let env: TestEnv;
let url: string;
const ADMIN = basicAuth('admin', 'admin-password');
const BOB = basicAuth('bob', 'bob-pw');
const ALICE = basicAuth('alice', 'alice-pw');
const MALLORY = basicAuth('mallory', 'mallory-pw');

const ids: Record<string, number> = {};
const RULE = 'DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1';

function api(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) {
  return apiRequest(url, method, path, body, headers);
}

async function made(method: string, path: string, body: unknown): Promise<number> {
  const r = await api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json.id;
}

/** Takes back every role `user` holds on objects of `type` (a test's own grants). */
async function revokeAll(user: number, type: string): Promise<void> {
  await env.pool.query('DELETE FROM rbac_role_users WHERE user_id = $1 AND role_id IN (SELECT id FROM rbac_roles WHERE resource_type = $2)', [user, type]);
  await webHeard();
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await env.pool.query(`SELECT count(*)::int AS n FROM (${sql}) x`, params)).rows[0].n);
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  const [bob, alice, mallory, dora, erin, aud, root2] = await Promise.all([
    createUser(env.pool, 'bob', 'bob-pw'), createUser(env.pool, 'alice', 'alice-pw'), createUser(env.pool, 'mallory', 'mallory-pw'),
    createUser(env.pool, 'dora', 'dora-pw'), createUser(env.pool, 'erin', 'erin-pw'), createUser(env.pool, 'aud', 'aud-pw'),
    createUser(env.pool, 'root2', 'root2-pw', true)]);
  await env.pool.query('UPDATE users SET is_system_auditor = true WHERE id = $1', [aud]);
  Object.assign(ids, { bob, alice, mallory, dora, erin, aud, root2 });

  const machine = (await api('GET', '/api/v2/credential_types/?name=Machine')).json.results[0].id;
  const scm = (await api('GET', '/api/v2/credential_types/?name=Source%20Control')).json.results[0].id;
  ids.sjt = (await env.pool.query(`SELECT id FROM system_job_templates WHERE job_type = 'cleanup_jobs'`)).rows[0].id;
  for (const [key, name] of [['A', 'Alpha'], ['B', 'Beta']] as const) {
    const org = ids[`org${key}`] = await made('POST', '/api/v2/organizations/', { name });
    ids[`inv${key}`] = await made('POST', '/api/v2/inventories/', { name: `inv ${key}`, organization: org });
    ids[`cred${key}`] = await made('POST', '/api/v2/credentials/', { name: `machine ${key}`, organization: org, credential_type: machine,
      inputs: { username: 'root', password: `${key}-machine-secret` } });
    ids[`scm${key}`] = await made('POST', '/api/v2/credentials/', { name: `scm ${key}`, organization: org, credential_type: scm,
      inputs: { username: 'git', password: `${key}-git-secret` } });
    ids[`proj${key}`] = await made('POST', '/api/v2/projects/', { name: `proj ${key}`, organization: org, scm_type: '' });
    ids[`jt${key}`] = await made('POST', '/api/v2/job_templates/', { name: `jt ${key}`, project: ids[`proj${key}`], inventory: ids[`inv${key}`],
      playbook: 'site.yml', ask_inventory_on_launch: true, ask_credential_on_launch: true });
    ids[`host${key}`] = await made('POST', '/api/v2/hosts/', { name: `host-${key}`, inventory: ids[`inv${key}`] });
    ids[`group${key}`] = await made('POST', '/api/v2/groups/', { name: `group-${key}`, inventory: ids[`inv${key}`] });
    ids[`src${key}`] = await made('POST', '/api/v2/inventory_sources/', { name: `src ${key}`, inventory: ids[`inv${key}`], source: 'scm',
      source_project: ids[`proj${key}`], source_path: 'hosts.ini' });
  }
  await grantRole(env.pool, 'organization', ids.orgB, 'admin_role', bob);
  // alice administers Alpha and is a plain member of Beta (so she sees Beta's users).
  await grantRole(env.pool, 'organization', ids.orgA, 'admin_role', alice);
  await grantRole(env.pool, 'organization', ids.orgB, 'member_role', alice);
  // mallory administers Beta and is a plain member of Alpha (so she can read Alpha).
  await grantRole(env.pool, 'organization', ids.orgB, 'admin_role', mallory);
  await grantRole(env.pool, 'organization', ids.orgA, 'member_role', mallory);
  // dora belongs to both organizations; erin to Beta only; the auditor and a second superuser to Beta.
  await grantRole(env.pool, 'organization', ids.orgA, 'member_role', dora);
  await grantRole(env.pool, 'organization', ids.orgB, 'member_role', dora);
  await grantRole(env.pool, 'organization', ids.orgB, 'member_role', erin);
  await grantRole(env.pool, 'organization', ids.orgB, 'member_role', aud);
  await grantRole(env.pool, 'organization', ids.orgB, 'member_role', root2);
});

describe('a job template links only what its author may use', () => {
  test('bob cannot create or change a template of Beta\'s to run on Alpha\'s inventory', async () => {
    const created = await api('POST', '/api/v2/job_templates/', { name: 'on A inv', project: ids.projB, inventory: ids.invA, playbook: 'site.yml' }, BOB);
    expect(created.status).toBe(403);
    const changed = await api('PATCH', `/api/v2/job_templates/${ids.jtB}/`, { inventory: ids.invA }, BOB);
    expect(changed.status).toBe(403);
    expect(await count('SELECT 1 FROM job_templates WHERE inventory_id = $1', [ids.invA])).toBe(1);
    const own = await api('POST', '/api/v2/job_templates/', { name: 'on B inv', project: ids.projB, inventory: ids.invB, playbook: 'site.yml' }, BOB);
    expect(own.status).toBe(201);
  });

  test('bob cannot create or change a template to run Alpha\'s project', async () => {
    expect((await api('POST', '/api/v2/job_templates/', { name: 'A proj', project: ids.projA, inventory: ids.invB, playbook: 'site.yml' }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/job_templates/${ids.jtB}/`, { project: ids.projA }, BOB)).status).toBe(403);
    expect(await count('SELECT 1 FROM job_templates WHERE project_id = $1', [ids.projA])).toBe(1);
  });

  test('read on a credential is not use: bob, who may only see Alpha\'s credential, cannot attach it', async () => {
    await grantRole(env.pool, 'credential', ids.credA, 'read_role', ids.bob);
    const attached = await api('POST', `/api/v2/job_templates/${ids.jtB}/credentials/`, { id: ids.credA }, BOB);
    expect(attached.status).toBe(403);
    expect(await count('SELECT 1 FROM job_template_credentials WHERE credential_id = $1', [ids.credA])).toBe(0);
    expect((await api('POST', `/api/v2/job_templates/${ids.jtB}/credentials/`, { id: ids.credB }, BOB)).status).toBe(204);
  });

  test('read on an inventory is not use: a template cannot be pointed at an inventory its author only reads', async () => {
    await grantRole(env.pool, 'inventory', ids.invA, 'read_role', ids.bob);
    try {
      expect((await api('PATCH', `/api/v2/job_templates/${ids.jtB}/`, { inventory: ids.invA }, BOB)).status).toBe(403);
      await grantRole(env.pool, 'inventory', ids.invA, 'use_role', ids.bob);
      expect((await api('PATCH', `/api/v2/job_templates/${ids.jtB}/`, { inventory: ids.invA }, BOB)).status).toBe(200);
    } finally {
      await env.pool.query('UPDATE job_templates SET inventory_id = $2 WHERE id = $1', [ids.jtB, ids.invB]);
      await revokeAll(ids.bob, 'inventory');
    }
  });

  test('administering a template is not using what it runs with: bob may rename Alpha\'s template, not change what it runs', async () => {
    await grantRole(env.pool, 'job_template', ids.jtA, 'admin_role', ids.bob);
    try {
      expect((await api('PATCH', `/api/v2/job_templates/${ids.jtA}/`, { playbook: 'other.yml' }, BOB)).status).toBe(403);
      expect((await api('PATCH', `/api/v2/job_templates/${ids.jtA}/`, { ask_limit_on_launch: true }, BOB)).status).toBe(403);
      expect((await api('PATCH', `/api/v2/job_templates/${ids.jtA}/`, { description: 'renamed by bob', limit: 'web' }, BOB)).status).toBe(200);
      expect((await env.pool.query('SELECT playbook, ask_limit_on_launch FROM job_templates WHERE id = $1', [ids.jtA])).rows[0])
        .toEqual({ playbook: 'site.yml', ask_limit_on_launch: false });
    } finally {
      await revokeAll(ids.bob, 'job_template');
    }
  });

  test('a copy makes its links anew: bob cannot copy his template while it holds a credential he may not use', async () => {
    expect((await api('POST', `/api/v2/job_templates/${ids.jtB}/credentials/`, { id: ids.credA })).status).toBe(204);
    try {
      expect((await api('POST', `/api/v2/job_templates/${ids.jtB}/copy/`, { name: 'jt B copy' }, BOB)).status).toBe(403);
      expect(await count(`SELECT 1 FROM job_templates WHERE name = 'jt B copy'`)).toBe(0);
    } finally {
      await env.pool.query('DELETE FROM job_template_credentials WHERE credential_id = $1', [ids.credA]);
      await env.pool.query(`DELETE FROM job_templates WHERE name = 'jt B copy'`);
    }
    expect((await api('POST', `/api/v2/job_templates/${ids.jtB}/copy/`, { name: 'jt B copy' }, BOB)).status).toBe(201);
  });

  test('attaching an instance group needs use on it: a template admin cannot pin work to any group', async () => {
    const ig = (await api('GET', '/api/v2/instance_groups/?name=controlplane')).json.results[0].id;
    expect((await api('POST', `/api/v2/job_templates/${ids.jtB}/instance_groups/`, { id: ig }, BOB)).status).toBe(403);
    expect((await api('POST', `/api/v2/organizations/${ids.orgB}/instance_groups/`, { id: ig }, BOB)).status).toBe(403);
    expect((await api('POST', `/api/v2/inventories/${ids.invB}/instance_groups/`, { id: ig }, BOB)).status).toBe(403);
    expect(await count('SELECT 1 FROM job_template_instance_groups')).toBe(0);
    await grantRole(env.pool, 'instance_group', ig, 'use_role', ids.bob);
    expect((await api('POST', `/api/v2/job_templates/${ids.jtB}/instance_groups/`, { id: ig }, BOB)).status).toBe(204);
  });
});

describe('launch prompts and relaunch check the same rule', () => {
  test('bob cannot launch Beta\'s template with Alpha\'s inventory', async () => {
    const before = await count(`SELECT 1 FROM unified_jobs WHERE kind = 'job'`);
    const r = await api('POST', `/api/v2/job_templates/${ids.jtB}/launch/`, { inventory: ids.invA }, BOB);
    expect(r.status).toBe(403);
    expect(await count(`SELECT 1 FROM unified_jobs WHERE kind = 'job'`)).toBe(before);
    const own = await api('POST', `/api/v2/job_templates/${ids.jtB}/launch/`, { inventory: ids.invB, credentials: [ids.credB] }, BOB);
    expect(own.status).toBe(201);
  });

  test('bob cannot launch Beta\'s template with Alpha\'s machine credential', async () => {
    const before = await count(`SELECT 1 FROM unified_jobs WHERE kind = 'job'`);
    const r = await api('POST', `/api/v2/job_templates/${ids.jtB}/launch/`, { credentials: [ids.credA] }, BOB);
    expect(r.status).toBe(403);
    expect(await count(`SELECT 1 FROM unified_jobs WHERE kind = 'job'`)).toBe(before);
  });

  test('execute on a template is enough for its own links: a prompt is checked, the template\'s inventory is not', async () => {
    await grantRole(env.pool, 'job_template', ids.jtA, 'execute_role', ids.bob);
    try {
      expect((await api('POST', `/api/v2/job_templates/${ids.jtA}/launch/`, {}, BOB)).status).toBe(201);
      expect((await api('POST', `/api/v2/job_templates/${ids.jtA}/launch/`, { inventory: ids.invA, credentials: [] }, BOB)).status).toBe(201);
      expect((await api('POST', `/api/v2/job_templates/${ids.jtA}/launch/`, { inventory: ids.invB }, BOB)).status).toBe(201);
      expect((await api('POST', `/api/v2/job_templates/${ids.jtA}/launch/`, { inventory: 'x' }, BOB)).status).toBe(400);
    } finally {
      await revokeAll(ids.bob, 'job_template');
    }
  });

  test('relaunch reuses the prompts only for someone who may use them', async () => {
    const prompted = await api('POST', `/api/v2/job_templates/${ids.jtB}/launch/`, { inventory: ids.invA, credentials: [ids.credA] });
    expect(prompted.status).toBe(201);
    const before = await count(`SELECT 1 FROM unified_jobs WHERE kind = 'job'`);
    const again = await api('POST', `/api/v2/jobs/${prompted.json.id}/relaunch/`, {}, BOB);
    expect(again.status).toBe(403);
    expect(await count(`SELECT 1 FROM unified_jobs WHERE kind = 'job'`)).toBe(before);
    const plain = await api('POST', `/api/v2/job_templates/${ids.jtB}/launch/`, {});
    expect((await api('POST', `/api/v2/jobs/${plain.json.id}/relaunch/`, {}, BOB)).status).toBe(201);
  });
});

describe('projects, hosts, groups and inventory sources link within reach', () => {
  test('bob cannot give Beta\'s project Alpha\'s source-control credential', async () => {
    expect((await api('PATCH', `/api/v2/projects/${ids.projB}/`, { credential: ids.scmA }, BOB)).status).toBe(403);
    const created = await api('POST', '/api/v2/projects/', { name: 'exfil', organization: ids.orgB, scm_type: 'git',
      scm_url: 'https://attacker.example/x.git', credential: ids.scmA }, BOB);
    expect(created.status).toBe(403);
    expect(await count('SELECT 1 FROM projects WHERE credential_id = $1', [ids.scmA])).toBe(0);
    expect((await api('PATCH', `/api/v2/projects/${ids.projB}/`, { credential: ids.scmB }, BOB)).status).toBe(200);
  });

  test('bob cannot move Beta\'s host or group into Alpha\'s inventory', async () => {
    expect((await api('PATCH', `/api/v2/hosts/${ids.hostB}/`, { inventory: ids.invA }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/groups/${ids.groupB}/`, { inventory: ids.invA }, BOB)).status).toBe(403);
    expect((await api('POST', '/api/v2/hosts/', { name: 'planted', inventory: ids.invA }, BOB)).status).toBe(403);
    expect(await count('SELECT 1 FROM hosts WHERE inventory_id = $1', [ids.invA])).toBe(1);
    expect(await count('SELECT 1 FROM groups WHERE inventory_id = $1', [ids.invA])).toBe(1);
    expect((await api('PATCH', `/api/v2/hosts/${ids.hostB}/`, { description: 'still mine' }, BOB)).status).toBe(200);
  });

  test('bob cannot source Beta\'s inventory from Alpha\'s project or with Alpha\'s credential', async () => {
    expect((await api('POST', '/api/v2/inventory_sources/', { name: 'from A', inventory: ids.invB, source: 'scm', source_project: ids.projA }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/inventory_sources/${ids.srcB}/`, { source_project: ids.projA }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/inventory_sources/${ids.srcB}/`, { credential: ids.credA }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/inventory_sources/${ids.srcB}/`, { inventory: ids.invA }, BOB)).status).toBe(403);
    expect(await count('SELECT 1 FROM inventory_sources WHERE source_project_id = $1 OR credential_id = $2', [ids.projA, ids.credA])).toBe(1);
    expect((await api('PATCH', `/api/v2/inventory_sources/${ids.srcB}/`, { credential: ids.credB }, BOB)).status).toBe(200);
  });

  test('bob cannot move Beta\'s project, inventory or credential into Alpha', async () => {
    expect((await api('PATCH', `/api/v2/projects/${ids.projB}/`, { organization: ids.orgA }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/inventories/${ids.invB}/`, { organization: ids.orgA }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/credentials/${ids.credB}/`, { organization: ids.orgA }, BOB)).status).toBe(403);
    expect(await count('SELECT 1 FROM projects WHERE organization_id = $1', [ids.orgA])).toBe(1);
  });
});

describe('schedules check their template', () => {
  test('bob cannot schedule Alpha\'s template or a system cleanup job, nor move his schedule onto them', async () => {
    expect((await api('POST', '/api/v2/schedules/', { name: 's1', unified_job_template: ids.jtA, rrule: RULE }, BOB)).status).toBe(403);
    expect((await api('POST', '/api/v2/schedules/', { name: 's2', unified_job_template: ids.sjt, rrule: RULE }, BOB)).status).toBe(403);
    expect((await api('POST', '/api/v2/schedules/', { name: 's3', unified_job_template: ids.srcA, rrule: RULE }, BOB)).status).toBe(403);
    const own = await api('POST', '/api/v2/schedules/', { name: 'mine', unified_job_template: ids.jtB, rrule: RULE }, BOB);
    expect(own.status).toBe(201);
    expect((await api('PATCH', `/api/v2/schedules/${own.json.id}/`, { unified_job_template: ids.jtA }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/schedules/${own.json.id}/`, { unified_job_template: ids.sjt }, BOB)).status).toBe(403);
    // Migration 0901 seeds the management jobs' own schedules; none of bob's may join them.
    expect(await count(`SELECT 1 FROM schedules WHERE unified_job_template_id <> $1 AND name IN ('s1', 's2', 's3', 'mine')`, [ids.jtB])).toBe(0);
  });

  test('a schedule\'s inventory prompt needs use on the inventory', async () => {
    expect((await api('POST', '/api/v2/schedules/', { name: 'p1', unified_job_template: ids.jtB, rrule: RULE, inventory: ids.invA }, BOB)).status).toBe(403);
    const own = await api('POST', `/api/v2/job_templates/${ids.jtB}/schedules/`, { name: 'p2', rrule: RULE, inventory: ids.invB }, BOB);
    expect(own.status).toBe(201);
    expect((await api('PATCH', `/api/v2/schedules/${own.json.id}/`, { inventory: ids.invA }, BOB)).status).toBe(403);
    expect(await count(`SELECT 1 FROM schedules WHERE launch_prompts->>'inventory' = $1`, [String(ids.invA)])).toBe(0);
  });
});

describe('user administration follows AWX\'s UserAccess', () => {
  test('an admin of Beta who can read Alpha cannot create users in Alpha', async () => {
    const r = await api('POST', `/api/v2/organizations/${ids.orgA}/users/`, { username: 'planted', password: 'planted-pw' }, MALLORY);
    expect(r.status).toBe(403);
    expect(await count(`SELECT 1 FROM users WHERE username = 'planted'`)).toBe(0);
    expect((await api('POST', `/api/v2/organizations/${ids.orgA}/users/`, { id: ids.erin }, MALLORY)).status).toBe(403);
    const own = await api('POST', `/api/v2/organizations/${ids.orgB}/users/`, { username: 'newbie', password: 'newbie-pw' }, MALLORY);
    expect(own.status).toBe(201);
    expect(await count(`SELECT 1 FROM rbac_user_roles WHERE user_id = $1 AND resource_type = 'organization' AND resource_id = $2 AND role_field = 'member_role'`,
      [own.json.id, ids.orgB])).toBe(1);
  });

  test('bob cannot reset the password of a user who also belongs to Alpha', async () => {
    const stored = (await env.pool.query('SELECT password FROM users WHERE id = $1', [ids.dora])).rows[0].password;
    expect((await api('PATCH', `/api/v2/users/${ids.dora}/`, { password: 'taken-over' }, BOB)).status).toBe(403);
    expect((await api('DELETE', `/api/v2/users/${ids.dora}/`, undefined, BOB)).status).toBe(403);
    expect((await env.pool.query('SELECT password FROM users WHERE id = $1', [ids.dora])).rows[0].password).toBe(stored);
    const seen = await api('GET', `/api/v2/users/${ids.dora}/`, undefined, BOB);
    expect(seen.json.summary_fields.user_capabilities).toMatchObject({ edit: false, delete: false });
    expect((await api('PATCH', `/api/v2/users/${ids.erin}/`, { first_name: 'Erin' }, BOB)).status).toBe(200);
  });

  test('bob cannot edit a system auditor or a superuser of his organization', async () => {
    expect((await api('PATCH', `/api/v2/users/${ids.aud}/`, { password: 'taken-over' }, BOB)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/users/${ids.root2}/`, { password: 'taken-over' }, BOB)).status).toBe(403);
    expect(await count(`SELECT 1 FROM users WHERE id = ANY($1) AND password LIKE 'scrypt%'`, [[ids.aud, ids.root2]])).toBe(2);
  });

  test('alice cannot pull a system auditor or another organization\'s member into Alpha', async () => {
    expect((await api('POST', `/api/v2/organizations/${ids.orgA}/users/`, { id: ids.aud }, ALICE)).status).toBe(403);
    expect((await api('POST', `/api/v2/organizations/${ids.orgA}/users/`, { id: ids.erin }, ALICE)).status).toBe(403);
    const member = (await api('GET', `/api/v2/organizations/${ids.orgA}/object_roles/?role_field=member_role`)).json.results[0].id;
    expect((await api('POST', `/api/v2/roles/${member}/users/`, { id: ids.erin }, ALICE)).status).toBe(403);
    expect((await api('POST', `/api/v2/users/${ids.erin}/roles/`, { id: member }, ALICE)).status).toBe(403);
    expect(await count(`SELECT 1 FROM rbac_user_roles WHERE resource_type = 'organization' AND resource_id = $1 AND user_id = ANY($2)`,
      [ids.orgA, [ids.aud, ids.erin]])).toBe(0);
  });
});
