import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';
import type { TestEnv } from '../support/harness.js';

/**
 * /api/v2/dashboard/ and /api/v2/dashboard/graphs/jobs/ in AWX's shapes, answered from the
 * counters triggers keep on unified_jobs (migrations 0600 and 1400): every insert, status
 * change and delete moves them, and they always equal a count of the table; a caller sees
 * only the jobs the /unified_jobs/ list would show them.
 */
let t: TestEnv;
let api: ApiCall;
let orgA: number;
let orgB: number;
const DAY = 86_400_000;

/** Counts from unified_jobs itself: what the counters must equal. */
async function truth(where = 'true', params: unknown[] = []) {
  const { rows: [c] } = await t.pool.query(
    `SELECT count(*)::int AS total, (count(*) FILTER (WHERE status = 'failed'))::int AS failed FROM unified_jobs WHERE kind = 'job' AND ${where}`, params);
  return c as { total: number; failed: number };
}

async function graphSums(path: string, headers?: Record<string, string>) {
  const g = await api('GET', path, undefined, headers);
  expect(g.status).toBe(200);
  return Object.fromEntries(Object.entries(g.json.jobs as Record<string, [number, number][]>).map(([s, pts]) => [s, pts.reduce((n, p) => n + p[1], 0)]));
}

beforeAll(async () => {
  let url: string;
  ({ t, url, api } = await useSeededWeb());
  void url;
  orgA = (await api('POST', '/api/v2/organizations/', { name: 'Org A' })).json.id;
  orgB = (await api('POST', '/api/v2/organizations/', { name: 'Org B' })).json.id;
  // 3,000 jobs over the last 40 days in two organizations, every terminal status, some syncs
  // (left out of the graph, as AWX does), in one statement: the trigger counts them at once.
  await t.pool.query(`
    INSERT INTO unified_jobs (kind, name, status, organization_id, launch_type, created, started, finished)
    SELECT CASE WHEN i % 10 = 0 THEN 'project_update' WHEN i % 10 = 1 THEN 'inventory_update' ELSE 'job' END,
           'j' || i, (ARRAY['successful', 'failed', 'error', 'canceled'])[1 + i % 4],
           CASE WHEN i % 3 = 0 THEN $1::bigint WHEN i % 3 = 1 THEN $2::bigint ELSE NULL END,
           CASE WHEN i % 7 = 0 THEN 'sync' ELSE 'manual' END,
           now() - (i % 40) * interval '1 day' - interval '1 hour', now() - (i % 40) * interval '1 day' - interval '1 hour',
           now() - (i % 40) * interval '1 day' - (i % 23) * interval '1 minute'
      FROM generate_series(1, 3000) AS i`, [orgA, orgB]);
});

describe('dashboard', () => {
  it('answers AWX\'s dashboard shape with job figures equal to a count of the table', async () => {
    const d = await api('GET', '/api/v2/dashboard/');
    expect(d.status).toBe(200);
    expect(d.json.related).toEqual({ jobs_graph: '/api/v2/dashboard/graphs/jobs/' });
    for (const k of ['inventories', 'hosts', 'projects', 'job_templates', 'organizations', 'users', 'teams', 'credentials', 'groups']) {
      expect(typeof d.json[k].total, k).toBe('number');
      expect(d.json[k].url, k).toMatch(/^\/api\/v2\/\w+\/$/);
    }
    expect(d.json.scm_types.git).toMatchObject({ label: 'Git', url: '/api/v2/projects/?scm_type=git' });
    expect(d.json.scm_types.git.total).toBe(Number((await t.pool.query(`SELECT count(*) FROM projects WHERE scm_type = 'git'`)).rows[0].count));
    expect(d.json.inventory_sources.ec2).toMatchObject({ label: 'Amazon EC2', total: 0 });
    expect(d.json.hosts.failures_url).toBe('/api/v2/hosts/?last_job_host_summary__failed=True');
    expect(d.json.jobs).toEqual({ url: '/api/v2/jobs/', ...(await truth()) });
  });

  it('keeps the counters equal to the table through status changes, organization moves and deletes', async () => {
    const { rows: [j] } = await t.pool.query(`INSERT INTO unified_jobs (kind, name, status, organization_id) VALUES ('job', 'moving', 'pending', $1) RETURNING id`, [orgA]);
    await t.pool.query(`UPDATE unified_jobs SET status = 'running', started = now() WHERE id = $1`, [j.id]);
    // A statement that changes nothing counted (most updates: events counted, elapsed) writes no counter.
    await t.pool.query(`UPDATE unified_jobs SET emitted_events = 5 WHERE id = $1`, [j.id]);
    await t.pool.query(`UPDATE unified_jobs SET status = 'failed', finished = now() WHERE id = $1`, [j.id]);
    await t.pool.query(`UPDATE unified_jobs SET organization_id = $2 WHERE id = $1`, [j.id, orgB]);
    expect((await api('GET', '/api/v2/dashboard/')).json.jobs).toMatchObject(await truth());
    const before = await graphSums('/api/v2/dashboard/graphs/jobs/?period=day');
    await t.pool.query(`DELETE FROM unified_jobs WHERE id = $1`, [j.id]);
    expect((await api('GET', '/api/v2/dashboard/')).json.jobs).toMatchObject(await truth());
    expect((await graphSums('/api/v2/dashboard/graphs/jobs/?period=day')).failed).toBe(before.failed - 1);
    // Deleting an organization nulls its jobs' organization (ON DELETE SET NULL): an update the counters follow.
    const { rows: [o] } = await t.pool.query(`INSERT INTO organizations (name) VALUES ('short-lived') RETURNING id`);
    await t.pool.query(`INSERT INTO unified_jobs (kind, name, status, organization_id) VALUES ('job', 'orphan', 'successful', $1)`, [o.id]);
    await t.pool.query('DELETE FROM organizations WHERE id = $1', [o.id]);
    await t.pool.query('SELECT fold_unified_job_finished_counts()');
    const { rows: drift } = await t.pool.query(`
      SELECT hour, kind, status, org, tpl, inv, who, sum(n) AS n FROM (
        SELECT hour, kind, status, organization_id AS org, unified_job_template_id AS tpl, inventory_id AS inv, created_by_id AS who, n FROM unified_job_finished_counts
        UNION ALL SELECT date_trunc('hour', finished, 'UTC'), kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, -count(*)
          FROM unified_jobs WHERE finished IS NOT NULL AND launch_type <> 'sync' AND status IN ('successful', 'failed', 'error', 'canceled')
         GROUP BY 1, 2, 3, 4, 5, 6, 7) x
      GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0`);
    expect(drift).toEqual([]);
  });

  it('graphs finished jobs per day by status, without syncs, from the counters', async () => {
    const sums = await graphSums('/api/v2/dashboard/graphs/jobs/?period=month');
    const g = await api('GET', '/api/v2/dashboard/graphs/jobs/?period=month');
    expect(Object.keys(g.json.jobs).sort()).toEqual(['canceled', 'error', 'failed', 'successful']);
    const points = g.json.jobs.successful as [number, number][];
    // AWX's list: one [epoch seconds, count] per day from midnight (UTC) 30 days ago through today.
    expect(points).toHaveLength(31);
    expect(points[0][0] * 1000 % DAY).toBe(0);
    expect(points[1][0] - points[0][0]).toBe(86_400);
    const first = new Date(points[0][0] * 1000);
    for (const status of ['successful', 'failed', 'error', 'canceled']) {
      const { rows: [c] } = await t.pool.query(
        `SELECT count(*)::int AS n FROM unified_jobs WHERE status = $1 AND launch_type <> 'sync' AND finished >= $2`, [status, first]);
      expect(sums[status], status).toBe(c.n);
    }
    // Each day's bar is that day's jobs.
    const day = points[points.length - 3];
    const { rows: [c] } = await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE status = 'successful' AND launch_type <> 'sync'
      AND finished >= $1 AND finished < $2`, [new Date(day[0] * 1000), new Date(day[0] * 1000 + DAY)]);
    expect(day[1]).toBe(c.n);
    // job_type narrows to one kind; the past day is hourly.
    const runs = await graphSums('/api/v2/dashboard/graphs/jobs/?period=week&job_type=playbook_run');
    const syncs = await graphSums('/api/v2/dashboard/graphs/jobs/?period=week&job_type=scm_update');
    const all = await graphSums('/api/v2/dashboard/graphs/jobs/?period=week');
    const inv = await graphSums('/api/v2/dashboard/graphs/jobs/?period=week&job_type=inv_sync');
    expect(runs.failed + syncs.failed + inv.failed).toBe(all.failed);
    expect(runs.failed).toBeGreaterThan(0);
    const hourly = await api('GET', '/api/v2/dashboard/graphs/jobs/?period=day');
    expect(hourly.json.jobs.failed.length).toBeGreaterThanOrEqual(24);
    expect(hourly.json.jobs.failed[1][0] - hourly.json.jobs.failed[0][0]).toBe(3600);
    // The graph's cost is the counters' size, not the table's: 3,000 jobs fold into far fewer groups.
    await t.pool.query('SELECT fold_unified_job_finished_counts()');
    const { rows: [size] } = await t.pool.query('SELECT count(*)::int AS n FROM unified_job_finished_counts');
    expect(size.n).toBeLessThan(1500);
  });

  it('refuses an unknown period or job_type by name', async () => {
    const p = await api('GET', '/api/v2/dashboard/graphs/jobs/?period=year');
    expect(p.status).toBe(400);
    expect(p.json).toEqual({ error: 'Unknown period "year"' });
    const j = await api('GET', '/api/v2/dashboard/graphs/jobs/?job_type=everything');
    expect(j.status).toBe(400);
    expect(Object.keys(j.json)).toEqual(['job_type']);
  });

  it('counts only what the caller may see: an organization admin their organization\'s jobs, a user the jobs they launched', async () => {
    const boss = (await api('POST', '/api/v2/users/', { username: 'boss-a', password: 'boss-a-pass' })).json;
    expect((await api('POST', `/api/v2/organizations/${orgA}/admins/`, { id: boss.id })).status).toBe(204);
    const bossAuth = basicAuth('boss-a', 'boss-a-pass');
    const d = await api('GET', '/api/v2/dashboard/', undefined, bossAuth);
    expect(d.status).toBe(200);
    expect(d.json.jobs).toMatchObject(await truth('organization_id = $1', [orgA]));
    const month = await graphSums('/api/v2/dashboard/graphs/jobs/?period=month', bossAuth);
    const { rows: [c] } = await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE status = 'failed' AND launch_type <> 'sync'
      AND organization_id = $1 AND finished >= date_trunc('day', now() - interval '30 days', 'UTC')`, [orgA]);
    expect(month.failed).toBe(c.n);

    // A plain user: only the job they launched, in another organization, nothing of Org A or B.
    const plain = (await api('POST', '/api/v2/users/', { username: 'plain-dash', password: 'plain-dash-pass' })).json;
    await t.pool.query(`INSERT INTO unified_jobs (kind, name, status, organization_id, created_by_id, finished) VALUES ('job', 'mine', 'failed', $1, $2, now())`, [orgB, plain.id]);
    const plainAuth = basicAuth('plain-dash', 'plain-dash-pass');
    expect((await api('GET', '/api/v2/dashboard/', undefined, plainAuth)).json.jobs).toMatchObject({ total: 1, failed: 1 });
    const mine = await graphSums('/api/v2/dashboard/graphs/jobs/?period=day', plainAuth);
    expect(mine).toEqual({ successful: 0, failed: 1, canceled: 0, error: 0 });
    // Not logged in: no figures.
    expect((await api('GET', '/api/v2/dashboard/graphs/jobs/', undefined, {})).status).toBe(401);
  });

  it('counts inventories, hosts, projects and the rest as their lists do for the caller: an organization member sees what they may read, not their organization\'s whole content', async () => {
    // Org A holds two inventories (one with two hosts and a group), a project, a template, a credential, a team.
    const invs = [];
    for (const name of ['dash-inv-1', 'dash-inv-2']) invs.push((await api('POST', '/api/v2/inventories/', { name, organization: orgA })).json.id);
    for (const name of ['dash-h1', 'dash-h2']) expect((await api('POST', '/api/v2/hosts/', { name, inventory: invs[1] })).status).toBe(201);
    expect((await api('POST', '/api/v2/groups/', { name: 'dash-g', inventory: invs[1] })).status).toBe(201);
    expect((await api('POST', '/api/v2/teams/', { name: 'dash-team', organization: orgA })).status).toBe(201);
    // Org B: one inventory, read by the member through a role of its own.
    const other = (await api('POST', '/api/v2/inventories/', { name: 'dash-inv-b', organization: orgB })).json.id;
    expect((await api('POST', '/api/v2/hosts/', { name: 'dash-hb', inventory: other })).status).toBe(201);
    const member = (await api('POST', '/api/v2/users/', { username: 'dash-member', password: 'dash-member-pass' })).json;
    expect((await api('POST', `/api/v2/organizations/${orgA}/users/`, { id: member.id })).status).toBe(204);
    const readRole = (await api('GET', `/api/v2/inventories/${other}/`)).json.summary_fields.object_roles.read_role.id;
    expect((await api('POST', `/api/v2/roles/${readRole}/users/`, { id: member.id })).status).toBe(204);

    const auth = basicAuth('dash-member', 'dash-member-pass');
    const d = (await api('GET', '/api/v2/dashboard/', undefined, auth)).json;
    for (const [key, path] of [['inventories', 'inventories'], ['hosts', 'hosts'], ['groups', 'groups'], ['projects', 'projects'],
      ['job_templates', 'job_templates'], ['organizations', 'organizations'], ['users', 'users'], ['teams', 'teams'], ['credentials', 'credentials']]) {
      const list = await api('GET', `/api/v2/${path}/`, undefined, auth);
      expect(list.status, key).toBe(200);
      expect(d[key].total, key).toBe(list.json.count);
    }
    // The attack this closes: Org A's inventories and hosts the member may not read are not counted; Org B's they may read is.
    expect(d.inventories.total).toBe(1);
    expect(d.hosts.total).toBe(1);
    // And an administrator sees everything, as before.
    const all = (await api('GET', '/api/v2/dashboard/')).json;
    expect(all.inventories.total).toBe(Number((await t.pool.query('SELECT count(*) FROM inventories')).rows[0].count));
  });
});
