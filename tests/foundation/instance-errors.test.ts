import { beforeAll, describe, expect, it } from 'vitest';
import { heartbeat } from '../../src/scheduler/cluster.js';
import { launchProjectUpdate } from '../../src/scheduler/launch.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';

/**
 * An instance that reports errors (programs missing) registers with capacity 0; the task
 * manager holds work that only such instances could run as pending, with their errors as
 * the explanation, and places it as soon as an instance without errors can take it.
 */
let t: TestEnv;
beforeAll(async () => { t = await useTestEnv(); });

const job = async (id: number) => (await t.pool.query('SELECT status, execution_node, job_explanation FROM unified_jobs WHERE id = $1', [id])).rows[0];

describe('instance errors', () => {
  it('hold jobs pending with the reason until an instance without errors can run them', async () => {
    const errors = 'cannot run jobs: ansible-runner (Debian package python3-ansible-runner) not found on PATH';
    await heartbeat(t.pool, 'broken', { errors });
    const { rows: [broken] } = await t.pool.query(`SELECT capacity, errors FROM instances WHERE hostname = 'broken'`);
    expect(broken).toEqual({ capacity: 0, errors });

    const org = (await t.pool.query(`INSERT INTO organizations (name) VALUES ('O') RETURNING id`)).rows[0].id;
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('P', $1, 'git', 'file:///nowhere', 'p') RETURNING id`, [org])).rows[0].id;
    const update = await launchProjectUpdate(t.pool, project);
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect(await job(update)).toEqual({ status: 'pending', execution_node: '',
      job_explanation: `waiting for an instance that can run it: broken ${errors}` });

    // The same node, fixed: its next heartbeat clears the errors and gives the capacity back.
    await heartbeat(t.pool, 'broken');
    const { rows: [fixed] } = await t.pool.query(`SELECT capacity, errors FROM instances WHERE hostname = 'broken'`);
    expect(fixed.capacity).toBeGreaterThan(0);
    expect(fixed.errors).toBe('');
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect(await job(update)).toMatchObject({ status: 'waiting', execution_node: 'broken', job_explanation: '' });
  });

  it('do not hold jobs another instance can run', async () => {
    await heartbeat(t.pool, 'broken', { errors: 'cannot run jobs: git (Debian package git) not found on PATH' });
    await heartbeat(t.pool, 'healthy');
    const org = (await t.pool.query(`INSERT INTO organizations (name) VALUES ('O2') RETURNING id`)).rows[0].id;
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('P2', $1, 'git', 'file:///nowhere', 'p2') RETURNING id`, [org])).rows[0].id;
    const update = await launchProjectUpdate(t.pool, project);
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect(await job(update)).toMatchObject({ status: 'waiting', execution_node: 'healthy' });
  });
});
