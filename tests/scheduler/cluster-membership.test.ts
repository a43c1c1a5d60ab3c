import { beforeAll, describe, expect, it } from 'vitest';
import { deprovisionInstance, heartbeat, reapLostInstances, releaseNode } from '../../src/scheduler/cluster.js';
import { launchProjectUpdate } from '../../src/scheduler/launch.js';
import { claimTasks } from '../../src/scheduler/task-queue.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';

/**
 * Joining, leaving and losing a node at the database level (the three-node test,
 * tests/cluster/three-nodes.test.ts, runs the same with real processes): membership by the
 * groups' policies, node types in placement, a lost node's queued work placed again and its
 * started work reaped, a reaped node's return, deprovisioning.
 */
let t: TestEnv;
beforeAll(async () => { t = await useTestEnv(); });

const membersOf = async (group: string) => (await t.pool.query(`SELECT i.hostname FROM instance_group_instances m
  JOIN instances i ON i.id = m.instance_id JOIN instance_groups g ON g.id = m.instance_group_id WHERE g.name = $1 ORDER BY 1`, [group]))
  .rows.map((r) => r.hostname);
const group = (name: string, cols: Record<string, unknown> = {}) => t.pool.query(
  `INSERT INTO instance_groups (name, policy_instance_percentage, policy_instance_minimum, policy_instance_list) VALUES ($1, $2, $3, $4)`,
  [name, cols.percentage ?? 0, cols.minimum ?? 0, JSON.stringify(cols.list ?? [])]);
const job = async (id: number) => (await t.pool.query('SELECT status, execution_node, job_explanation FROM unified_jobs WHERE id = $1', [id])).rows[0];

describe('cluster membership', () => {
  it('joins the groups whose policies want a node, by its type, and leaves hand-made memberships alone', async () => {
    await group('controlplane', { percentage: 100 });
    await group('default', { percentage: 100 });
    await group('half', { percentage: 50 });
    await group('one', { minimum: 1 });
    await group('named', { list: ['exec2'] });
    expect(await heartbeat(t.pool, 'ctl', { nodeType: 'control' })).toBe(true);
    expect(await heartbeat(t.pool, 'ctl', { nodeType: 'control' })).toBe(false);
    await heartbeat(t.pool, 'hyb', { nodeType: 'hybrid' });
    await heartbeat(t.pool, 'exec1', { nodeType: 'execution' });
    await heartbeat(t.pool, 'exec2', { nodeType: 'execution' });
    expect(await membersOf('controlplane')).toEqual(['ctl', 'hyb']);
    expect(await membersOf('default')).toEqual(['exec1', 'exec2', 'hyb']);
    // 50% of the instances it may hold: hyb (0 of 1), not exec1 (1 of 2 is 50%), exec2 (1 of 3 is under).
    expect(await membersOf('half')).toEqual(['exec2', 'hyb']);
    expect(await membersOf('one')).toEqual(['hyb']);
    expect(await membersOf('named')).toEqual(['exec2']);
    // A node joins with its type, shown as AWX's node_type.
    expect((await t.pool.query(`SELECT hostname, node_type FROM instances ORDER BY 1`)).rows.map((r) => `${r.hostname}:${r.node_type}`))
      .toEqual(['ctl:control', 'exec1:execution', 'exec2:execution', 'hyb:hybrid']);

    // Taken out by hand, a ready node stays out: policies apply when a node joins or returns.
    await t.pool.query(`DELETE FROM instance_group_instances WHERE instance_id = (SELECT id FROM instances WHERE hostname = 'exec1')
      AND instance_group_id = (SELECT id FROM instance_groups WHERE name = 'default')`);
    await heartbeat(t.pool, 'exec1', { nodeType: 'execution' });
    expect(await membersOf('default')).toEqual(['exec2', 'hyb']);
  });

  it('places work only on hybrid and execution nodes', async () => {
    await t.pool.query(`UPDATE instances SET enabled = (hostname = 'ctl')`);
    const org = (await t.pool.query(`INSERT INTO organizations (name) VALUES ('O') RETURNING id`)).rows[0].id;
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('P', $1, 'git', 'file:///nowhere', 'p') RETURNING id`, [org])).rows[0].id;
    const update = await launchProjectUpdate(t.pool, project);
    // Only the control node is enabled: nothing can run the update.
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect((await job(update)).status).toBe('pending');
    await t.pool.query(`UPDATE instances SET enabled = (hostname IN ('ctl', 'exec2'))`);
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect(await job(update)).toMatchObject({ status: 'waiting', execution_node: 'exec2' });
    await t.pool.query(`UPDATE instances SET enabled = true`);
  });

  it('gives a lost node\'s queued jobs to others, reaps the ones it took, and takes it back when it returns', async () => {
    const org = (await t.pool.query(`INSERT INTO organizations (name) VALUES ('O2') RETURNING id`)).rows[0].id;
    const ids: number[] = [];
    for (const name of ['a', 'b', 'c']) {
      const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
        VALUES ($1, $2, 'git', 'file:///nowhere', $1) RETURNING id`, [name, org])).rows[0].id;
      ids.push(await launchProjectUpdate(t.pool, project));
    }
    await t.pool.query(`UPDATE instances SET enabled = (hostname = 'exec1')`);
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect((await Promise.all(ids.map(job))).map((j) => j.execution_node)).toEqual(['exec1', 'exec1', 'exec1']);
    // exec1's worker took the first task and started it, and the second task, then died.
    const taken = await claimTasks(t.pool, 'exec1', 2);
    expect(taken.map((x) => x.args.job_id)).toEqual(ids.slice(0, 2));
    await t.pool.query(`UPDATE unified_jobs SET status = 'running', started = now() WHERE id = $1`, [ids[0]]);
    await t.pool.query(`UPDATE instances SET enabled = true, last_seen = CASE WHEN hostname = 'exec1' THEN now() - interval '1 hour' ELSE now() END`);

    expect(await reapLostInstances(t.pool, undefined, 'hyb', 60)).toEqual(['exec1']);
    expect((await t.pool.query(`SELECT node_state, capacity, errors FROM instances WHERE hostname = 'exec1'`)).rows[0])
      .toEqual({ node_state: 'unavailable', capacity: 0, errors: 'Another cluster node has determined this instance to be unresponsive' });
    expect(await job(ids[0])).toMatchObject({ status: 'failed', job_explanation: 'Job reaped due to instance shutdown' });
    expect(await job(ids[1])).toMatchObject({ status: 'failed', job_explanation: 'Job reaped due to instance shutdown' });
    expect(await job(ids[2])).toMatchObject({ status: 'pending', execution_node: '' });
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM dispatcher_tasks WHERE node = 'exec1'`)).rows[0].n).toBe(0);
    // Placed again, on a node still there.
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect((await job(ids[2])).status).toBe('waiting');
    expect(['hyb', 'exec2']).toContain((await job(ids[2])).execution_node);

    // Its next heartbeat brings it back, ready and with its capacity, with no manual step.
    expect(await heartbeat(t.pool, 'exec1', { nodeType: 'execution' })).toBe(true);
    const back = (await t.pool.query(`SELECT node_state, capacity, errors FROM instances WHERE hostname = 'exec1'`)).rows[0];
    expect(back).toMatchObject({ node_state: 'ready', errors: '' });
    expect(back.capacity).toBeGreaterThan(0);
    expect(await membersOf('default')).toEqual(['exec1', 'exec2', 'hyb']);
  });

  it('deprovisions a node: its queued work placed again, the instance and its memberships gone', async () => {
    const node = (await t.pool.query(`SELECT execution_node FROM unified_jobs WHERE status = 'waiting' LIMIT 1`)).rows[0].execution_node;
    const queued = (await t.pool.query(`SELECT id FROM unified_jobs WHERE status = 'waiting' AND execution_node = $1 ORDER BY id`, [node])).rows.map((r) => r.id);
    expect(queued.length).toBeGreaterThan(0);
    const released = await deprovisionInstance(t.pool, undefined, node);
    expect({ replaced: [...released!.replaced].sort((a, b) => a - b), reaped: released!.reaped }).toEqual({ replaced: queued, reaped: [] });
    for (const id of queued) expect((await job(id)).status).toBe('pending');
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM instances WHERE hostname = $1`, [node])).rows[0].n).toBe(0);
    expect(await membersOf('default')).not.toContain(node);
    expect(await deprovisionInstance(t.pool, undefined, 'nobody')).toBeNull();
    expect(await releaseNode(t.pool, undefined, 'nobody')).toEqual({ replaced: [], reaped: [] });
  });
});
