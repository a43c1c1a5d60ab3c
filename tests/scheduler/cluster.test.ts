import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { cliBundle, createGitRepo, orgId, startDispatcher, stopProcess, waitFor, waitForStatus } from './support.js';

let t: TestEnv;
const nodes: ReturnType<typeof startDispatcher>[] = [];

beforeAll(async () => {
  t = await useTestEnv({ PLAYSTREAM_HEARTBEAT_SECONDS: '1', PLAYSTREAM_HEARTBEAT_TOLERANCE: '4', PLAYSTREAM_DISPATCHER_WORKERS: '4' });
  cliBundle();
});
afterAll(async () => { for (const n of nodes) await stopProcess(n, 'SIGKILL'); });

describe('cluster of two dispatcher nodes on one Postgres', () => {
  it('fires a schedule once per occurrence, both nodes take work, and a SIGKILLed node is reaped by its peer', async () => {
    const org = await orgId(t.pool);
    const repo = path.join(t.dataDir, 'repo');
    createGitRepo(repo, { 'sleep.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 60\n` });
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('P', $1, 'git', $2, 'p') RETURNING id`, [org, `file://${repo}`])).rows[0].id;
    const inventory = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('I', $1) RETURNING id`, [org])).rows[0].id;
    await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('localhost', $1, 'ansible_connection: local')`, [inventory]);
    const jt = (await t.pool.query(`INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook, allow_simultaneous)
      VALUES ('sleep', $1, $2, $3, 'sleep.yml', true) RETURNING id`, [org, inventory, project])).rows[0].id;

    nodes.push(startDispatcher({ ...t.env, PLAYSTREAM_NODE_NAME: 'alpha' }));
    nodes.push(startDispatcher({ ...t.env, PLAYSTREAM_NODE_NAME: 'beta' }));
    await waitFor(async () => (await t.pool.query(`SELECT count(*)::int AS n FROM instances WHERE hostname IN ('alpha', 'beta')`)).rows[0].n === 2,
      30_000, 'both instances');
    // Both nodes share one project dir here, so update once before the jobs run.
    expect((await waitForStatus(t.pool, await launchProjectUpdate(t.pool, project), ['successful', 'failed', 'error'])).status).toBe('successful');

    // A schedule due now, every minute: exactly one job for this occurrence, though both nodes run the schedule loop.
    const sjt = (await t.pool.query(`INSERT INTO system_job_templates (name, job_type) VALUES ('cleanup', 'cleanup_activitystream') RETURNING id`)).rows[0].id;
    const dtstart = new Date(Date.now() - 120_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    await t.pool.query(`INSERT INTO schedules (name, unified_job_template_id, rrule, next_run) VALUES ('every minute', $1, $2, now())`,
      [sjt, `DTSTART:${dtstart} RRULE:FREQ=MINUTELY;INTERVAL=1`]);
    await waitFor(async () => (await t.pool.query(`SELECT next_run > now() AS ok FROM schedules`)).rows[0].ok, 20_000, 'the schedule to advance');
    await new Promise((r) => setTimeout(r, 3000));
    const { rows: fired } = await t.pool.query(`SELECT id, launch_type FROM unified_jobs WHERE kind = 'system_job'`);
    expect(fired).toHaveLength(1);
    expect(fired[0].launch_type).toBe('scheduled');

    // Enough long jobs that placement by most remaining capacity spreads them over both nodes.
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push(await launchJobTemplate(t.pool, jt));
    for (const id of jobs) await waitForStatus(t.pool, id, ['running'], 60_000);
    const { rows: placed } = await t.pool.query(`SELECT id, execution_node FROM unified_jobs WHERE id = ANY($1)`, [jobs]);
    expect(new Set(placed.map((p) => p.execution_node))).toEqual(new Set(['alpha', 'beta']));

    await stopProcess(nodes[0], 'SIGKILL');
    const killedAt = Date.now();
    const onAlpha = placed.filter((p) => p.execution_node === 'alpha').map((p) => p.id);
    for (const id of onAlpha) {
      const j = await waitForStatus(t.pool, id, ['failed', 'error', 'successful', 'canceled'], 30_000);
      expect(j.status).toBe('failed');
      expect(j.job_explanation).toBe('Job reaped due to instance shutdown');
    }
    // Tolerance 4 s plus one heartbeat period of the peer, with slack for a loaded machine.
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect((await t.pool.query(`SELECT node_state FROM instances WHERE hostname = 'alpha'`)).rows[0].node_state).toBe('unavailable');
    const { rows: stillRunning } = await t.pool.query(`SELECT status FROM unified_jobs WHERE id = ANY($1) AND execution_node = 'beta'`, [jobs]);
    expect(stillRunning.every((r) => r.status === 'running')).toBe(true);
  }, 150_000);
});
