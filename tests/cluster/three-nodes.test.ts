import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth } from '../support/web.js';
import { createGitRepo, orgId, runCli, waitFor, waitForStatus } from '../scheduler/support.js';
import { TestClient } from '../ws/ws-client.js';
import { type ClusterNode, killNode, startNode } from './nodes.js';

/**
 * Three machines, simulated: a control node, an execution node and a hybrid node, each with
 * its own data directory, on one Postgres and Redis (tests/cluster/nodes.ts). Every launch
 * goes through the control node's API, which runs no job itself. A short heartbeat and
 * tolerance (1 s, 5 s) keep the loss and the return of a node quick.
 */
const TOLERANCE = 5;
const PASSWORD = 'cluster-admin-pw';
const auth = basicAuth('admin', PASSWORD);
const FINAL = ['successful', 'failed', 'error', 'canceled'];

let t: TestEnv;
let control: ClusterNode;
let execution: ClusterNode;
let hybrid: ClusterNode;
const api = (node: ClusterNode, method: string, p: string, body?: unknown) => apiRequest(node.url!, method, p, body, auth);

beforeAll(async () => {
  t = await useTestEnv({ PLAYSTREAM_HEARTBEAT_SECONDS: '1', PLAYSTREAM_HEARTBEAT_TOLERANCE: String(TOLERANCE),
    PLAYSTREAM_DISPATCHER_WORKERS: '3', PLAYSTREAM_RECEIVER_WORKERS: '1', PLAYSTREAM_ADMIN_PASSWORD: PASSWORD });
  // Started together: one seeds the first start (admin, the default and controlplane groups) under the seed's lock
  // before any of them registers, as three machines booted at once would.
  [control, execution, hybrid] = await Promise.all([startNode(t, 'ctl', 'control'), startNode(t, 'exe', 'execution'), startNode(t, 'hyb', 'hybrid')]);
});

async function launch(jt: number): Promise<number> {
  const r = await api(control, 'POST', `/api/v2/job_templates/${jt}/launch/`, {});
  expect(r.status).toBe(201);
  return r.json.id;
}

async function jobsOf(ids: number[]) {
  return (await t.pool.query(`SELECT id, status, execution_node, scm_revision, job_explanation FROM unified_jobs WHERE id = ANY($1) ORDER BY id`, [ids])).rows;
}

/** The local syncs the jobs depend on, as (job, sync node, sync revision). */
async function syncsOf(ids: number[]) {
  return (await t.pool.query(`SELECT d.unified_job_id AS job, s.id AS sync, s.execution_node AS node, s.scm_revision, s.status
      FROM unified_job_dependencies d JOIN unified_jobs s ON s.id = d.depends_on_id
     WHERE d.unified_job_id = ANY($1) AND s.launch_type = 'sync'`, [ids])).rows;
}

describe('a cluster of a control, an execution and a hybrid node, each with its own disk', () => {
  it('runs every launch on the nodes that run jobs, syncs projects where jobs run, and loses no work when a node dies', async () => {
    // Roles as AWX shows them, and membership by the seeded groups' policies on join.
    const listed = (await api(control, 'GET', '/api/v2/instances/?order_by=hostname')).json.results;
    expect(listed.map((i: any) => [i.hostname, i.node_type, i.node_state])).toEqual([
      ['ctl', 'control', 'ready'], ['exe', 'execution', 'ready'], ['hyb', 'hybrid', 'ready']]);
    const members = async (group: string) => (await t.pool.query(`SELECT i.hostname FROM instance_group_instances m
      JOIN instances i ON i.id = m.instance_id JOIN instance_groups g ON g.id = m.instance_group_id WHERE g.name = $1 ORDER BY 1`, [group])).rows.map((r) => r.hostname);
    expect(await members('default')).toEqual(['exe', 'hyb']);
    expect(await members('controlplane')).toEqual(['ctl', 'hyb']);

    const org = await orgId(t.pool);
    const repo = path.join(t.dataDir, 'repo');
    const first = createGitRepo(repo, {
      'hello.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=rev1\n`,
      'sleep.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 8\n`,
    });
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('cluster project', $1, 'git', $2, 'cluster_project') RETURNING id`, [org, `file://${repo}`])).rows[0].id;
    const inventory = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('I', $1) RETURNING id`, [org])).rows[0].id;
    await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('localhost', $1, $2)`,
      [inventory, 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"']);
    const template = async (name: string, playbook: string) => (await t.pool.query(`INSERT INTO job_templates
      (name, organization_id, inventory_id, project_id, playbook, allow_simultaneous) VALUES ($1, $2, $3, $4, $5, true) RETURNING id`,
    [name, org, inventory, project, playbook])).rows[0].id;
    const hello = await template('hello', 'hello.yml');
    const sleep = await template('sleep', 'sleep.yml');

    const update = async () => {
      const r = await api(control, 'POST', `/api/v2/projects/${project}/update/`, {});
      expect(r.status).toBe(202);
      const u = await waitForStatus(t.pool, r.json.id, FINAL);
      expect(u.status).toBe('successful');
      return u;
    };
    const u1 = await update();
    expect(['exe', 'hyb']).toContain(u1.execution_node);

    // 30 launches through the control node: all succeed, spread over the two nodes that run jobs.
    const batch: number[] = [];
    for (let i = 0; i < 30; i++) batch.push(await launch(hello));
    for (const id of batch) await waitForStatus(t.pool, id, FINAL, 180_000);
    const ran = await jobsOf(batch);
    expect(ran.filter((j) => j.status !== 'successful')).toEqual([]);
    expect(new Set(ran.map((j) => j.execution_node))).toEqual(new Set(['exe', 'hyb']));
    expect(ran.every((j) => j.scm_revision === first)).toBe(true);
    // The node that did not run the update synced the project once for all its jobs of that revision.
    const other = u1.execution_node === 'exe' ? 'hyb' : 'exe';
    const synced = await syncsOf(batch);
    expect(new Set(synced.map((s) => s.sync)).size).toBe(1);
    expect(synced[0]).toMatchObject({ node: other, scm_revision: first, status: 'successful' });
    expect(new Set(synced.map((s) => s.job))).toEqual(new Set(ran.filter((j) => j.execution_node === other).map((j) => j.id)));
    // Shown as AWX shows it: the job's project_update, an update of launch_type sync on that node.
    const shown = (await api(control, 'GET', `/api/v2/jobs/${synced[0].job}/`)).json;
    expect(shown.related.project_update).toBe(`/api/v2/project_updates/${synced[0].sync}/`);
    expect((await api(control, 'GET', shown.related.project_update)).json).toMatchObject({ launch_type: 'sync', job_type: 'run',
      execution_node: other, scm_revision: first, status: 'successful' });
    // The execution node runs no receiver: its jobs' events reached the cluster's receivers through Redis.
    const onExe = ran.find((j) => j.execution_node === 'exe')!;
    const events = await waitFor(async () => {
      const r = await api(control, 'GET', `/api/v2/jobs/${onExe.id}/job_events/?event=runner_on_ok`);
      return r.json.count === 1 ? r.json.results : null;
    }, 30_000, 'the execution node job\'s events');
    expect(events[0].event_data.res.msg).toBe('rev1');

    // A new revision, updated on one node: jobs on both run it, the other node syncing to it.
    const second = createGitRepo(repo, { 'hello.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=rev2\n` });
    const u2 = await update();
    expect(u2.scm_revision).toBe(second);
    const after: number[] = [];
    for (let i = 0; i < 2; i++) after.push(await launch(hello));
    for (const id of after) await waitForStatus(t.pool, id, FINAL, 120_000);
    const ran2 = await jobsOf(after);
    expect(ran2.map((j) => [j.status, j.scm_revision])).toEqual(after.map(() => ['successful', second]));
    expect(new Set(ran2.map((j) => j.execution_node))).toEqual(new Set(['exe', 'hyb']));
    const notUpdater = ran2.filter((j) => j.execution_node !== u2.execution_node).map((j) => j.id);
    const synced2 = await syncsOf(notUpdater);
    expect(new Set(synced2.map((s) => s.job))).toEqual(new Set(notUpdater));
    expect(synced2.every((s) => s.scm_revision === second && s.node !== u2.execution_node)).toBe(true);

    // A websocket client on the hybrid node, watching status changes.
    const ws = await TestClient.connect(`${hybrid.url!.replace('http', 'ws')}/websocket/`, auth, true);
    await ws.subscribe({ groups: { jobs: ['status_changed'] } });

    // Long jobs: three run on each node, a fourth waits queued on each (three workers per node).
    const long: number[] = [];
    for (let i = 0; i < 8; i++) long.push(await launch(sleep));
    const placedOnExe = await waitFor(async () => {
      const rows = await jobsOf(long);
      const exe = rows.filter((j) => j.execution_node === 'exe');
      const queued = (await t.pool.query(`SELECT count(*)::int AS n FROM dispatcher_tasks WHERE node = 'exe'`)).rows[0].n;
      return exe.length === 4 && exe.filter((j) => j.status === 'running').length === 3 && queued === 1 ? exe : null;
    }, 90_000, 'three long jobs running on the execution node and one queued there');
    const runningOnExe = placedOnExe.filter((j) => j.status === 'running').map((j) => j.id);
    const queuedOnExe = placedOnExe.filter((j) => j.status === 'waiting').map((j) => j.id);
    expect(queuedOnExe).toHaveLength(1);
    // Some output of a running job is stored before the node dies.
    await waitFor(async () => (await api(control, 'GET', `/api/v2/jobs/${runningOnExe[0]}/job_events/`)).json.count > 0, 30_000, 'stored events');

    const killed = await killNode(execution);
    expect(killed.length).toBeGreaterThan(3);
    const killedAt = Date.now();
    for (const id of runningOnExe) {
      const j = await waitForStatus(t.pool, id, FINAL, (TOLERANCE + 30) * 1000);
      expect(j).toMatchObject({ status: 'failed', job_explanation: 'Job reaped due to instance shutdown' });
    }
    expect(Date.now() - killedAt).toBeLessThan((TOLERANCE + 30) * 1000);
    const lost = (await api(control, 'GET', '/api/v2/instances/?hostname=exe')).json.results[0];
    expect(lost).toMatchObject({ node_state: 'unavailable', capacity: 0, errors: 'Another cluster node has determined this instance to be unresponsive' });
    // Their stored events stay readable, and the hybrid node's websocket client saw them fail.
    expect((await api(control, 'GET', `/api/v2/jobs/${runningOnExe[0]}/job_events/`)).json.count).toBeGreaterThan(0);
    await ws.until(() => runningOnExe.every((id) => ws.messages.some((m) => m.unified_job_id === id && m.status === 'failed')), 15_000);
    ws.close();
    // The queued one is placed again, on the hybrid node, and succeeds; so does everything else.
    const replaced = await waitForStatus(t.pool, queuedOnExe[0], FINAL, 120_000);
    expect(replaced, replaced.job_explanation).toMatchObject({ status: 'successful', execution_node: 'hyb' });
    for (const id of long.filter((i) => !runningOnExe.includes(i))) {
      expect((await waitForStatus(t.pool, id, FINAL, 120_000)).status).toBe('successful');
    }

    // The execution node comes back with no manual step, and runs jobs again.
    execution = await startNode(t, 'exe', 'execution');
    await waitFor(async () => (await api(control, 'GET', '/api/v2/instances/?hostname=exe')).json.results[0].node_state === 'ready',
      30_000, 'the execution node to be ready again');
    const back: number[] = [];
    for (let i = 0; i < 2; i++) back.push(await launch(hello));
    for (const id of back) await waitForStatus(t.pool, id, FINAL, 120_000);
    const ran3 = await jobsOf(back);
    expect(ran3.every((j) => j.status === 'successful')).toBe(true);
    expect(ran3.some((j) => j.execution_node === 'exe')).toBe(true);
    expect(await members('default')).toEqual(['exe', 'hyb']);

    // Leaving: stopped, then deprovisioned; gone from the instances and from its groups.
    await killNode(execution);
    expect(runCli(['deprovision', 'exe'], { ...t.env })).toMatch(/deprovisioned exe/);
    expect((await api(control, 'GET', '/api/v2/instances/?hostname=exe')).json.count).toBe(0);
    expect(await members('default')).toEqual(['hyb']);
    expect(() => runCli(['deprovision', 'exe'], { ...t.env })).toThrow(/no instance named exe/);
  }, 420_000);
});
