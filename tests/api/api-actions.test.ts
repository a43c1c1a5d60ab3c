import http from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { sendDueNotifications } from '../../src/scheduler/notifications.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * The object actions and RBAC paths beyond CRUD against a real server: notification test,
 * schedule previews, inventory script, project playbooks, job host summaries, copy,
 * team grants reaching members, org admins managing their users, dashboard and settings.
 */
let env: TestEnv;
let url: string;
const admin = basicAuth('admin', 'admin-password');

function api(method: string, path: string, body?: unknown, headers: Record<string, string> = admin) {
  return apiRequest(url, method, path, body, headers);
}

async function demo(collection: string, name: string): Promise<any> {
  return (await api('GET', `/api/v2/${collection}/?name=${encodeURIComponent(name)}`)).json.results[0];
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
});

describe('API v2 actions', () => {
  it('notification template test/ queues a notification the sender delivers', async () => {
    const received: any[] = [];
    const hook = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c) => { b += c; });
      req.on('end', () => { received.push({ auth: req.headers.authorization, body: JSON.parse(b) }); res.end(); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const nt = await api('POST', '/api/v2/notification_templates/', { name: 'hook', organization: 1, notification_type: 'webhook',
        notification_configuration: { url: `http://127.0.0.1:${(hook.address() as { port: number }).port}/`, http_method: 'POST',
          username: 'u', password: 'webhook-pass', headers: {} } });
      expect(nt.status).toBe(201);
      const test = await api('POST', `/api/v2/notification_templates/${nt.json.id}/test/`, {});
      expect(test.status).toBe(202);
      const n = await api('GET', `/api/v2/notifications/${test.json.notification}/`);
      expect(n.json).toMatchObject({ status: 'pending', notification_template: nt.json.id, notification_type: 'webhook' });
      expect(await sendDueNotifications(env.pool, env.secrets)).toBeGreaterThanOrEqual(1);
      expect(received).toHaveLength(1);
      expect(received[0].body.body).toContain('Test Notification');
      expect(received[0].auth).toBe(`Basic ${Buffer.from('u:webhook-pass').toString('base64')}`);
      // The sender wrote from outside the web process: its answer may lag until that change is heard (read-cache.ts).
      await expect.poll(async () => (await api('GET', `/api/v2/notifications/${test.json.notification}/`)).json.status, { timeout: 5_000 }).toBe('successful');
      expect((await api('GET', `/api/v2/notification_templates/${nt.json.id}/notifications/`)).json.count).toBe(1);
    } finally {
      hook.close();
    }
  });

  it('previews rrules and computes a schedule next_run; invalid rules are 400', async () => {
    const rrule = 'DTSTART:20300101T120000Z RRULE:FREQ=DAILY;INTERVAL=2;COUNT=3';
    const p = await api('POST', '/api/v2/schedules/preview/', { rrule });
    expect(p.status).toBe(200);
    expect(p.json.utc).toEqual(['2030-01-01T12:00:00Z', '2030-01-03T12:00:00Z', '2030-01-05T12:00:00Z']);
    expect((await api('POST', '/api/v2/schedules/preview/', { rrule: 'RRULE:FREQ=DAILY' })).status).toBe(400);
    const jt = await demo('job_templates', 'Demo Job Template');
    const s = await api('POST', '/api/v2/schedules/', { name: 'every other day', unified_job_template: jt.id, rrule });
    expect(s.status).toBe(201);
    expect(s.json.next_run).toMatch(/^2030-01-01T12:00:00/);
    expect((await api('GET', `/api/v2/schedules/${s.json.id}/preview/`)).json.utc).toHaveLength(3);
    expect((await api('GET', `/api/v2/job_templates/${jt.id}/schedules/`)).json.results.map((r: any) => r.name)).toEqual(['every other day']);
    const bad = await api('POST', '/api/v2/schedules/', { name: 'bad', unified_job_template: jt.id, rrule: 'DTSTART:20300101T120000Z RRULE:FREQ=SOMETIMES' });
    expect(bad.status).toBe(400);
    expect(bad.json.rrule).toBeDefined();
  });

  it('serves an inventory script with groups, children and hostvars', async () => {
    const inv = await api('POST', '/api/v2/inventories/', { name: 'scripted', organization: 1, variables: 'region: north' });
    const web = await api('POST', `/api/v2/inventories/${inv.json.id}/groups/`, { name: 'web', variables: '{"tier": "front"}' });
    const prod = await api('POST', `/api/v2/inventories/${inv.json.id}/groups/`, { name: 'prod' });
    const h1 = await api('POST', `/api/v2/inventories/${inv.json.id}/hosts/`, { name: 'h1', variables: 'port: 22' });
    await api('POST', `/api/v2/inventories/${inv.json.id}/hosts/`, { name: 'h2' });
    await api('POST', `/api/v2/inventories/${inv.json.id}/hosts/`, { name: 'off', enabled: false });
    expect((await api('POST', `/api/v2/groups/${web.json.id}/hosts/`, { id: h1.json.id })).status).toBe(204);
    expect((await api('POST', `/api/v2/groups/${prod.json.id}/children/`, { id: web.json.id })).status).toBe(204);
    const script = await api('GET', `/api/v2/inventories/${inv.json.id}/script/?hostvars=1`);
    expect(script.status).toBe(200);
    expect(script.json).toEqual({
      all: { hosts: ['h2'], vars: { region: 'north' }, children: ['prod'] },
      prod: { hosts: [], children: ['web'], vars: {} },
      web: { hosts: ['h1'], children: [], vars: { tier: 'front' } },
      _meta: { hostvars: { h1: { port: 22 }, h2: {} } },
    });
    expect((await api('GET', `/api/v2/inventories/${inv.json.id}/script/`)).json._meta).toBeUndefined();
  });

  it('lists a project\'s playbooks and a job\'s host summaries', async () => {
    const project = await demo('projects', 'Demo Project');
    await env.pool.query(`UPDATE projects SET playbook_files = '["hello_world.yml", "site.yml"]' WHERE id = $1`, [project.id]);
    expect((await api('GET', `/api/v2/projects/${project.id}/playbooks/`)).json).toEqual(['hello_world.yml', 'site.yml']);
    const jt = await demo('job_templates', 'Demo Job Template');
    const launched = await api('POST', `/api/v2/job_templates/${jt.id}/launch/`, {});
    expect(launched.status).toBe(201);
    const host = (await api('GET', '/api/v2/hosts/?name=localhost')).json.results[0];
    await env.pool.query(`INSERT INTO job_host_summaries (job_id, host_id, host_name, ok, changed) VALUES ($1, $2, 'localhost', 3, 1)`,
      [launched.json.id, host.id]);
    const summaries = await api('GET', `/api/v2/jobs/${launched.json.id}/job_host_summaries/`);
    expect(summaries.json.count).toBe(1);
    expect(summaries.json.results[0]).toMatchObject({ type: 'job_host_summary', job: launched.json.id, host: host.id, host_name: 'localhost', ok: 3, changed: 1 });
    expect(summaries.json.results[0].summary_fields.host.name).toBe('localhost');
    expect((await api('GET', `/api/v2/hosts/${host.id}/job_host_summaries/`)).json.count).toBe(1);
    await api('POST', `/api/v2/jobs/${launched.json.id}/cancel/`, {});
  });

  it('copies a job template with its credentials, and an inventory with its hosts and groups', async () => {
    const jt = await demo('job_templates', 'Demo Job Template');
    expect((await api('GET', `/api/v2/job_templates/${jt.id}/copy/`)).json.can_copy).toBe(true);
    const copy = await api('POST', `/api/v2/job_templates/${jt.id}/copy/`, { name: 'Demo copy' });
    expect(copy.status).toBe(201);
    expect(copy.json).toMatchObject({ name: 'Demo copy', playbook: jt.playbook, project: jt.project, inventory: jt.inventory });
    expect(copy.json.id).not.toBe(jt.id);
    const creds = await api('GET', `/api/v2/job_templates/${copy.json.id}/credentials/`);
    expect(creds.json.results.map((c: any) => c.name)).toEqual(['Demo Credential']);
    expect((await api('POST', `/api/v2/job_templates/${jt.id}/copy/`, { name: 'Demo copy' })).status).toBe(400);

    const inv = await demo('inventories', 'Demo Inventory');
    const g = await api('POST', `/api/v2/inventories/${inv.id}/groups/`, { name: 'copied-group' });
    const host = (await api('GET', `/api/v2/inventories/${inv.id}/hosts/`)).json.results[0];
    await api('POST', `/api/v2/groups/${g.json.id}/hosts/`, { id: host.id });
    const invCopy = await api('POST', `/api/v2/inventories/${inv.id}/copy/`, { name: 'Inventory copy' });
    expect(invCopy.status).toBe(201);
    const script = await api('GET', `/api/v2/inventories/${invCopy.json.id}/script/`);
    expect(script.json['copied-group'].hosts).toEqual(['localhost']);
  });

  it('a team\'s role reaches its members, and org admins manage the users of their organization only', async () => {
    const other = await api('POST', '/api/v2/organizations/', { name: 'Elsewhere' });
    const boss = await api('POST', '/api/v2/organizations/1/users/', { username: 'boss', password: 'boss-pass' });
    const worker = await api('POST', '/api/v2/organizations/1/users/', { username: 'worker', password: 'worker-pass' });
    const stranger = await api('POST', `/api/v2/organizations/${other.json.id}/users/`, { username: 'stranger', password: 'stranger-pass' });
    const outsider = await api('POST', '/api/v2/organizations/1/users/', { username: 'outsider', password: 'outsider-pass' });
    expect((await api('POST', '/api/v2/organizations/1/admins/', { id: boss.json.id })).status).toBe(204);

    const team = await api('POST', '/api/v2/teams/', { name: 'runners', organization: 1 });
    const jt = await demo('job_templates', 'Demo Job Template');
    const executeRole = jt.summary_fields.object_roles.execute_role.id;
    expect((await api('POST', `/api/v2/teams/${team.json.id}/roles/`, { id: executeRole })).status).toBe(204);
    expect((await api('POST', `/api/v2/teams/${team.json.id}/users/`, { id: worker.json.id })).status).toBe(204);
    const workerAuth = basicAuth('worker', 'worker-pass');
    const seen = await api('GET', '/api/v2/job_templates/', undefined, workerAuth);
    expect(seen.json.results.map((r: any) => r.name)).toEqual(['Demo Job Template']);
    expect(seen.json.results[0].summary_fields.user_capabilities).toMatchObject({ start: true, edit: false });
    const launched = await api('POST', `/api/v2/job_templates/${jt.id}/launch/`, {}, workerAuth);
    expect(launched.status).toBe(201);
    await api('POST', `/api/v2/jobs/${launched.json.id}/cancel/`, {});
    const outsiderAuth = basicAuth('outsider', 'outsider-pass');
    expect((await api('GET', '/api/v2/job_templates/', undefined, outsiderAuth)).json.count).toBe(0);
    expect((await api('POST', `/api/v2/job_templates/${jt.id}/launch/`, {}, outsiderAuth)).status).toBe(403);
    // Leaving the team takes the grant away.
    expect((await api('POST', `/api/v2/teams/${team.json.id}/users/`, { id: worker.json.id, disassociate: true })).status).toBe(204);
    expect((await api('POST', `/api/v2/job_templates/${jt.id}/launch/`, {}, workerAuth)).status).toBe(403);

    const bossAuth = basicAuth('boss', 'boss-pass');
    const edited = await api('PATCH', `/api/v2/users/${worker.json.id}/`, { first_name: 'Wanda', password: 'new-worker-pass' }, bossAuth);
    expect(edited.status).toBe(200);
    expect(edited.json.first_name).toBe('Wanda');
    expect((await api('GET', '/api/v2/me/', undefined, basicAuth('worker', 'new-worker-pass'))).status).toBe(200);
    const list = await api('GET', `/api/v2/users/?username=worker`, undefined, bossAuth);
    expect(list.json.results[0].summary_fields.user_capabilities.edit).toBe(true);
    expect((await api('PATCH', `/api/v2/users/${stranger.json.id}/`, { first_name: 'x' }, bossAuth)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/users/${worker.json.id}/`, { is_superuser: true }, bossAuth)).status).toBe(403);
    expect((await api('PATCH', '/api/v2/users/1/', { first_name: 'x' }, bossAuth)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/users/${boss.json.id}/`, { first_name: 'x' }, basicAuth('worker', 'new-worker-pass'))).status).toBe(403);
    expect((await api('DELETE', `/api/v2/users/${worker.json.id}/`, undefined, basicAuth('worker', 'new-worker-pass'))).status).toBe(403);
    expect((await api('DELETE', `/api/v2/users/${stranger.json.id}/`, undefined, bossAuth)).status).toBe(403);
    expect((await api('DELETE', `/api/v2/users/${worker.json.id}/`, undefined, bossAuth)).status).toBe(204);
  });

  it('dashboard counts what the caller may see; settings are for superusers and auditors', async () => {
    const dash = await api('GET', '/api/v2/dashboard/');
    expect(dash.status).toBe(200);
    const { rows: [c] } = await env.pool.query('SELECT (SELECT count(*) FROM job_templates)::int AS jt, (SELECT count(*) FROM hosts)::int AS hosts');
    expect(dash.json.job_templates.total).toBe(c.jt);
    expect(dash.json.hosts.total).toBe(c.hosts);
    const sys = await api('GET', '/api/v2/settings/system/');
    expect(sys.status).toBe(200);
    const all = await api('GET', '/api/v2/settings/all/');
    expect(all.status).toBe(200);
    const key = Object.keys(sys.json).find((k) => typeof sys.json[k] === 'boolean');
    if (key) {
      const flipped = await api('PATCH', '/api/v2/settings/system/', { [key]: !sys.json[key] });
      expect(flipped.json[key]).toBe(!sys.json[key]);
    }
    await api('POST', '/api/v2/organizations/1/users/', { username: 'plain', password: 'plain-pass' });
    expect((await api('GET', '/api/v2/settings/system/', undefined, basicAuth('plain', 'plain-pass'))).status).toBe(403);
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AWX_TASK_ENV: {} }, basicAuth('plain', 'plain-pass'))).status).toBe(403);
    expect((await api('GET', '/api/v2/settings/jobs/')).status).toBe(200);
    // Settings the jobs read are checked when written: a value they would refuse is a 400 naming it, and nothing is stored.
    const badJinja = await api('PATCH', '/api/v2/settings/jobs/', { ALLOW_JINJA_IN_EXTRA_VARS: 'sometimes' });
    expect(badJinja.status).toBe(400);
    expect(badJinja.json.ALLOW_JINJA_IN_EXTRA_VARS[0]).toContain('not a valid choice');
    const badPaths = await api('PATCH', '/api/v2/settings/jobs/', { AWX_ISOLATION_SHOW_PATHS: ['relative/dir'] });
    expect(badPaths.status).toBe(400);
    expect(badPaths.json.AWX_ISOLATION_SHOW_PATHS[0]).toContain('not an absolute path');
    const jobs = await api('GET', '/api/v2/settings/jobs/');
    expect(jobs.json.ALLOW_JINJA_IN_EXTRA_VARS).toBe('template');
    expect(jobs.json.AWX_ISOLATION_SHOW_PATHS).toEqual([]);
    expect((await api('PATCH', '/api/v2/settings/jobs/', { ALLOW_JINJA_IN_EXTRA_VARS: 'never' })).json.ALLOW_JINJA_IN_EXTRA_VARS).toBe('never');
    await api('PATCH', '/api/v2/settings/jobs/', { ALLOW_JINJA_IN_EXTRA_VARS: 'template' });
  });
});
