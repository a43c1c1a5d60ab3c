import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instanceCapacity, taskImpact } from '../../src/scheduler/capacity.js';
import { launchJobTemplate } from '../../src/scheduler/launch.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { orgId } from './support.js';

let t: TestEnv;
let org: number;
let project: number;
let inventory: number;

const pass = () => runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
const job = async (id: number) => (await t.pool.query('SELECT * FROM unified_jobs WHERE id = $1', [id])).rows[0];
async function jt(extra: Record<string, unknown> = {}): Promise<number> {
  const cols = { name: 'jt ' + Math.random(), organization_id: org, inventory_id: inventory, project_id: project, playbook: 'ok.yml', ...extra };
  const keys = Object.keys(cols);
  return (await t.pool.query(`INSERT INTO job_templates (${keys.map((k) => `"${k}"`).join(',')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(',')}) RETURNING id`,
    Object.values(cols))).rows[0].id;
}
async function instance(hostname: string, capacity: number): Promise<number> {
  return (await t.pool.query(`INSERT INTO instances (hostname, capacity, last_seen) VALUES ($1, $2, now())
    ON CONFLICT (hostname) DO UPDATE SET capacity = $2, last_seen = now(), node_state = 'ready' RETURNING id`, [hostname, capacity])).rows[0].id;
}
const finish = (id: number, status = 'successful') => t.pool.query(
  `UPDATE unified_jobs SET status = $2, finished = now() WHERE id = $1`, [id, status]);

beforeAll(async () => { t = await useTestEnv(); });
beforeEach(async () => {
  await t.pool.query('TRUNCATE unified_jobs, instances, instance_groups, dispatcher_tasks CASCADE');
  org = await orgId(t.pool);
  project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, scm_update_on_launch, scm_update_cache_timeout)
    VALUES ('P' || gen_random_uuid(), $1, 'git', 'file:///nowhere', false, 0) RETURNING id`, [org])).rows[0].id;
  inventory = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('I' || gen_random_uuid(), $1) RETURNING id`, [org])).rows[0].id;
  await t.pool.query(`INSERT INTO hosts (name, inventory_id) SELECT 'h' || g, $1 FROM generate_series(1, 3) g`, [inventory]);
  await instance('node-a', 100);
});

describe('task manager', () => {
  it('computes capacity and impact as AWX does', () => {
    expect(instanceCapacity(2, 24 * 1024 ** 3)).toEqual({ cpuCapacity: 8, memCapacity: 225, capacity: 225 });
    expect(instanceCapacity(2, 24 * 1024 ** 3, 0).capacity).toBe(8);
    expect(taskImpact('job', 3, 0)).toBe(4);
    expect(taskImpact('job', 100, 10)).toBe(11);
    expect(taskImpact('project_update', 100, 10)).toBe(1);
    expect(taskImpact('system_job', 0, 0)).toBe(5);
  });

  it('runs one job at a time per template without allow_simultaneous, all at once with it', async () => {
    const serial = await jt();
    const a = await launchJobTemplate(t.pool, serial);
    const b = await launchJobTemplate(t.pool, serial);
    const parallel = await jt({ allow_simultaneous: true });
    const c = await launchJobTemplate(t.pool, parallel);
    const d = await launchJobTemplate(t.pool, parallel);
    await pass();
    expect((await job(a)).status).toBe('waiting');
    expect((await job(a)).execution_node).toBe('node-a');
    expect((await job(a)).task_impact).toBe(4);
    expect((await job(b)).status).toBe('pending');
    expect((await job(b)).job_explanation).toContain(`job template ${serial}`);
    expect([(await job(c)).status, (await job(d)).status]).toEqual(['waiting', 'waiting']);
    const { rows: tasks } = await t.pool.query(`SELECT node, args FROM dispatcher_tasks ORDER BY id`);
    expect(tasks.map((x) => x.args.job_id)).toEqual([a, c, d]);
    await finish(a);
    await pass();
    expect((await job(b)).status).toBe('waiting');
  });

  it('blocks jobs of a project while it updates and jobs of an inventory while it updates', async () => {
    const template = await jt({ allow_simultaneous: true });
    const update = (await t.pool.query(`INSERT INTO unified_jobs (kind, name, project_id, status, execution_node)
      VALUES ('project_update', 'u', $1, 'running', 'node-a') RETURNING id`, [project])).rows[0].id;
    const j = await launchJobTemplate(t.pool, template);
    await pass();
    expect((await job(j)).status).toBe('pending');
    expect((await job(j)).job_explanation).toContain('project update');
    await finish(update);
    const src = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id) VALUES ('s', $1) RETURNING id`, [inventory])).rows[0].id;
    const invUpdate = (await t.pool.query(`INSERT INTO unified_jobs (kind, name, inventory_id, inventory_source_id, status, execution_node)
      VALUES ('inventory_update', 'iu', $1, $2, 'running', 'node-a') RETURNING id`, [inventory, src])).rows[0].id;
    await pass();
    expect((await job(j)).job_explanation).toContain('inventory update');
    await finish(invUpdate);
    await pass();
    expect((await job(j)).status).toBe('waiting');
  });

  it('creates a project update dependency, honours the cache timeout, and fails a job whose dependency failed', async () => {
    await t.pool.query('UPDATE projects SET scm_update_on_launch = true, scm_update_cache_timeout = 3600 WHERE id = $1', [project]);
    const template = await jt({ allow_simultaneous: true });
    const first = await launchJobTemplate(t.pool, template);
    const second = await launchJobTemplate(t.pool, template);
    await pass();
    const { rows: deps } = await t.pool.query(`SELECT d.unified_job_id, j.id, j.kind, j.launch_type, j.status FROM unified_job_dependencies d
      JOIN unified_jobs j ON j.id = d.depends_on_id ORDER BY 1`);
    expect(deps.map((d) => d.unified_job_id)).toEqual([first, second]);
    expect(new Set(deps.map((d) => d.id)).size).toBe(1);
    expect(deps[0]).toMatchObject({ kind: 'project_update', launch_type: 'dependency', status: 'waiting' });
    expect((await job(first)).status).toBe('pending');
    await finish(deps[0].id);
    await pass();
    expect((await job(first)).status).toBe('waiting');
    // Within the cache timeout: no new update.
    const third = await launchJobTemplate(t.pool, template);
    await pass();
    expect((await job(third)).status).toBe('waiting');
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'project_update'`)).rows[0].n).toBe(1);
    // Cache expired (timeout 0 = always update), and the new update fails: the job fails with AWX's explanation.
    await t.pool.query('UPDATE projects SET scm_update_cache_timeout = 0 WHERE id = $1', [project]);
    const fourth = await launchJobTemplate(t.pool, template);
    await pass();
    const { rows: [dep] } = await t.pool.query(`SELECT j.id, j.name FROM unified_job_dependencies d JOIN unified_jobs j ON j.id = d.depends_on_id
      WHERE d.unified_job_id = $1`, [fourth]);
    await finish(dep.id, 'failed');
    await pass();
    const failed = await job(fourth);
    expect(failed.status).toBe('failed');
    expect(failed.job_explanation).toBe(`Previous Task Failed: {"job_type": "project_update", "job_name": "${dep.name}", "job_id": "${dep.id}"}`);
  });

  it('places on the instance group member with most remaining capacity, and an idle instance always takes one job', async () => {
    const ig = (await t.pool.query(`INSERT INTO instance_groups (name) VALUES ('g') RETURNING id`)).rows[0].id;
    const small = await instance('small', 3);
    const big = await instance('big', 10);
    await t.pool.query('INSERT INTO instance_group_instances VALUES ($1, $2), ($1, $3)', [ig, small, big]);
    const template = await jt({ allow_simultaneous: true });
    await t.pool.query('INSERT INTO job_template_instance_groups (job_template_id, instance_group_id) VALUES ($1, $2)', [template, ig]);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await launchJobTemplate(t.pool, template));
    await pass();
    const placed = await Promise.all(ids.map(job));
    // impact 4 each: big (10) takes two (8), small (3) is idle so takes one despite impact 4 > 3; the fourth waits.
    expect(placed.map((j) => j.execution_node)).toEqual(['big', 'big', 'small', '']);
    expect(placed.map((j) => j.instance_group_id)).toEqual([ig, ig, ig, null]);
    expect(placed[3].status).toBe('pending');
    expect(placed[3].job_explanation).toContain('capacity');
  });

  it("an instance group's max_concurrent_jobs and max_forks pass its jobs on to the next group, as AWX's has_remaining_capacity", async () => {
    const limited = (await t.pool.query(`INSERT INTO instance_groups (name, max_concurrent_jobs) VALUES ('two jobs', 2) RETURNING id`)).rows[0].id;
    const forks = (await t.pool.query(`INSERT INTO instance_groups (name, max_forks) VALUES ('five forks', 5) RETURNING id`)).rows[0].id;
    const big = await instance('big', 100);
    const other = await instance('other', 100);
    await t.pool.query('INSERT INTO instance_group_instances VALUES ($1, $2), ($3, $4)', [limited, big, forks, other]);
    const template = await jt({ allow_simultaneous: true });
    await t.pool.query('INSERT INTO job_template_instance_groups (job_template_id, instance_group_id, position) VALUES ($1, $2, 0), ($1, $3, 1)',
      [template, limited, forks]);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await launchJobTemplate(t.pool, template));
    await pass();
    const placed = await Promise.all(ids.map(job));
    // Impact 4 each: two jobs fill 'two jobs'; the third goes to 'five forks' (4 <= 5); a fourth would take it to 8 forks.
    expect(placed.map((j) => j.instance_group_id)).toEqual([limited, limited, forks, null]);
    expect(placed.map((j) => j.execution_node)).toEqual(['big', 'big', 'other', '']);
    await finish(ids[0]);
    await pass();
    expect((await job(ids[3])).instance_group_id).toBe(limited);
  });

  it('prevent_instance_group_fallback on a template or inventory stops the groups after it', async () => {
    const jtGroup = (await t.pool.query(`INSERT INTO instance_groups (name) VALUES ('template group') RETURNING id`)).rows[0].id;
    const orgGroup = (await t.pool.query(`INSERT INTO instance_groups (name) VALUES ('org group') RETURNING id`)).rows[0].id;
    const small = await instance('small', 4);
    const spare = await instance('spare', 100);
    await t.pool.query('INSERT INTO instance_group_instances VALUES ($1, $2), ($3, $4)', [jtGroup, small, orgGroup, spare]);
    await t.pool.query('INSERT INTO organization_instance_groups (organization_id, instance_group_id) VALUES ($1, $2)', [org, orgGroup]);
    const launchTwo = async (extra: Record<string, unknown>) => {
      const template = await jt({ allow_simultaneous: true, ...extra });
      await t.pool.query('INSERT INTO job_template_instance_groups (job_template_id, instance_group_id) VALUES ($1, $2)', [template, jtGroup]);
      const ids = [await launchJobTemplate(t.pool, template), await launchJobTemplate(t.pool, template)];
      await pass();
      return Promise.all(ids.map(job));
    };
    // Falls back: the second job, which 'small' cannot hold, goes to the organization's group.
    expect((await launchTwo({})).map((j) => j.instance_group_id)).toEqual([jtGroup, orgGroup]);
    await t.pool.query(`UPDATE unified_jobs SET status = 'successful', finished = now() WHERE status IN ('waiting', 'running')`);
    // Prevented: it waits for the template's group.
    const prevented = await launchTwo({ prevent_instance_group_fallback: true });
    expect(prevented.map((j) => j.instance_group_id)).toEqual([jtGroup, null]);
    expect(prevented[1].status).toBe('pending');
  });
});
