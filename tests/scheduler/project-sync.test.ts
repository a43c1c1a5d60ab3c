import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { heartbeat } from '../../src/scheduler/cluster.js';
import { launchInventoryUpdate, launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { runUnifiedJob } from '../../src/scheduler/run-unified-job.js';
import type { JobContext } from '../../src/scheduler/job-context.js';
import { claimTasks } from '../../src/scheduler/task-queue.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, orgId } from './support.js';

/**
 * Two nodes with their own disks, in this process: `a` (the test's own config) and `b` (its
 * own data dir and name). A project updated on `a` is synced on `b` before `b` runs a job or
 * an inventory update from it, at the revision the job records, once per revision; a sync
 * that cannot fetch the revision fails the job as AWX fails a job whose dependency failed.
 */
let t: TestEnv;
let nodes: Record<'a' | 'b', JobContext>;

beforeAll(async () => {
  t = await useTestEnv();
  const ctx = (config: JobContext['config']): JobContext => ({ pool: t.pool, redis: t.redis, config, secrets: t.secrets, onCancel: () => () => {} });
  nodes = { a: ctx(t.config), b: ctx(loadConfig({ ...t.env, PLAYSTREAM_DATA_DIR: path.join(t.dataDir, 'node-b'), PLAYSTREAM_NODE_NAME: 'b' })) };
});

/** Places the job on `node` alone (the other disabled), claims its task there and runs it as that node's worker would. */
async function runOn(node: 'a' | 'b', jobId: number): Promise<Record<string, any>> {
  const name = nodes[node].config.nodeName;
  for (const n of Object.values(nodes)) await heartbeat(t.pool, n.config.nodeName);
  await t.pool.query('UPDATE instances SET enabled = (hostname = $1)', [name]);
  await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
  expect((await claimTasks(t.pool, name, 10)).map((x) => x.args.job_id)).toEqual([jobId]);
  await runUnifiedJob(nodes[node], jobId);
  return (await t.pool.query('SELECT * FROM unified_jobs WHERE id = $1', [jobId])).rows[0];
}

const syncsOf = async (jobId: number) => (await t.pool.query(`SELECT s.id, s.execution_node, s.scm_revision, s.status, s.job_type
    FROM unified_job_dependencies d JOIN unified_jobs s ON s.id = d.depends_on_id WHERE d.unified_job_id = $1 AND s.launch_type = 'sync'`,
[jobId])).rows;

describe('project content where the job runs', () => {
  it('syncs the project on the node that runs a job or an inventory update, once per revision, at the job\'s revision', async () => {
    const repo = path.join(t.dataDir, 'repo');
    const rev1 = createGitRepo(repo, {
      'hello.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=hello\n`,
      'inv.yml': `all:\n  hosts:\n    web1: {}\n`,
    });
    const org = await orgId(t.pool);
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('P', $1, 'git', $2, 'p') RETURNING id`, [org, `file://${repo}`])).rows[0].id;
    const update = await runOn('a', await launchProjectUpdate(t.pool, project));
    expect(update.status, update.job_explanation).toBe('successful');
    const inventory = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('I', $1) RETURNING id`, [org])).rows[0].id;
    await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('localhost', $1, $2)`,
      [inventory, 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"']);
    const jt = (await t.pool.query(`INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook, allow_simultaneous)
      VALUES ('hello', $1, $2, $3, 'hello.yml', true) RETURNING id`, [org, inventory, project])).rows[0].id;

    // On `a`, whose checkout the update left at rev1, a job needs no sync.
    const onA = await runOn('a', await launchJobTemplate(t.pool, jt));
    expect(onA).toMatchObject({ status: 'successful', scm_revision: rev1 });
    expect(await syncsOf(onA.id)).toEqual([]);

    // On `b`, a first job syncs; a second of the same revision shares that sync.
    const first = await runOn('b', await launchJobTemplate(t.pool, jt));
    expect(first, first.job_explanation).toMatchObject({ status: 'successful', scm_revision: rev1, execution_node: 'b' });
    const [sync] = await syncsOf(first.id);
    expect(sync).toMatchObject({ execution_node: 'b', scm_revision: rev1, status: 'successful', job_type: 'run' });
    expect(first.job_cwd).toBe(path.join(t.dataDir, 'node-b', 'projects', 'p'));
    const second = await runOn('b', await launchJobTemplate(t.pool, jt));
    expect(second.status).toBe('successful');
    expect((await syncsOf(second.id)).map((s) => s.id)).toEqual([sync.id]);

    // An inventory update from the project's files on `b` uses the same synced checkout.
    const source = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path, source_project_id)
      VALUES ('from project', $1, 'scm', 'inv.yml', $2) RETURNING id`, [inventory, project])).rows[0].id;
    const imported = await runOn('b', await launchInventoryUpdate(t.pool, source));
    expect(imported.status, imported.job_explanation).toBe('successful');
    expect((await syncsOf(imported.id)).map((s) => s.id)).toEqual([sync.id]);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM hosts WHERE inventory_id = $1 AND name = 'web1'`, [inventory])).rows[0].n).toBe(1);

    // A new revision, updated on `a`: `b` syncs to it before its next job; the project's own record stays the update's.
    const rev2 = createGitRepo(repo, { 'hello.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=two\n` });
    const update2 = await runOn('a', await launchProjectUpdate(t.pool, project));
    expect(update2.scm_revision).toBe(rev2);
    const third = await runOn('b', await launchJobTemplate(t.pool, jt));
    expect(third).toMatchObject({ status: 'successful', scm_revision: rev2 });
    const [sync2] = await syncsOf(third.id);
    expect(sync2).toMatchObject({ execution_node: 'b', scm_revision: rev2, status: 'successful' });
    expect(sync2.id).not.toBe(sync.id);
    expect((await t.pool.query('SELECT scm_revision, last_job_id FROM projects WHERE id = $1', [project])).rows[0])
      .toEqual({ scm_revision: rev2, last_job_id: update2.id });

    // A revision the repository does not have: the sync fails, and the job with AWX's explanation.
    await t.pool.query(`UPDATE projects SET scm_revision = '0123456789abcdef0123456789abcdef01234567' WHERE id = $1`, [project]);
    const broken = await runOn('b', await launchJobTemplate(t.pool, jt));
    const [failedSync] = await syncsOf(broken.id);
    expect(failedSync.status).toBe('failed');
    expect(broken).toMatchObject({ status: 'failed',
      job_explanation: `Previous Task Failed: {"job_type": "project_update", "job_name": "P", "job_id": "${failedSync.id}"}` });
    expect((await t.pool.query('SELECT status, last_job_id FROM projects WHERE id = $1', [project])).rows[0])
      .toEqual({ status: 'successful', last_job_id: update2.id });
  });
});
