import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { wakeTaskManager } from '../../src/scheduler/job-states.js';
import { cancelUnifiedJob } from '../../src/scheduler/submit.js';
import { decideApproval } from '../../src/scheduler/workflow/approvals.js';
import { launchWorkflowJobTemplate } from '../../src/scheduler/workflow/launch-workflow.js';
import { redisKeys } from '../../src/redis-keys.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createProjectAndInventory, insertJobTemplate, orgId, pushedEvents, startDispatcher, stopProcess, waitFor, waitForStatus } from '../scheduler/support.js';

/**
 * Workflows run for real: a dispatcher process, ansible-runner and real playbooks. The
 * next node starts when the job before it finishes (the final status wakes the task
 * manager), not at the task manager's 5 s poll: each hand-over is timed.
 */
const PLAYBOOKS = {
  'ok.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg="hello {{ who | default('world') }}"\n`,
  'fail.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.fail: msg=boom\n`,
  'sleep.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 120\n`,
  'stats.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.set_stats:\n        data: { handoff: 42, build: "b-7" }\n`,
  'use.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.assert:\n        that: [ "handoff == 42", "build == 'b-7'" ]\n`,
};
/** The dispatcher's task manager polls every 5 s; a hand-over well under that came from the wake-up. */
const HANDOVER_MS = 3000;

let t: TestEnv;
let dispatcher: ReturnType<typeof startDispatcher>;
let org: number;
let project: number;
let inventory: number;

async function wfjt(name: string): Promise<number> {
  return (await t.pool.query('INSERT INTO workflow_job_templates (name, organization_id) VALUES ($1, $2) RETURNING id', [name, org])).rows[0].id;
}
async function node(workflow: number, identifier: string, template: number): Promise<number> {
  return (await t.pool.query(`INSERT INTO workflow_job_template_nodes (workflow_job_template_id, identifier, unified_job_template_id)
    VALUES ($1, $2, $3) RETURNING id`, [workflow, identifier, template])).rows[0].id;
}
async function edge(from: number, kind: string, to: number): Promise<void> {
  await t.pool.query('INSERT INTO workflow_job_template_node_edges (from_id, kind, to_id) VALUES ($1, $2, $3)', [from, kind, to]);
}
async function jobNodes(workflowJob: number): Promise<Record<string, Record<string, any>>> {
  const { rows } = await t.pool.query(
    `SELECT n.identifier, n.do_not_run, n.job_id, j.status, j.kind, j.launch_type, j.created, j.finished, j.job_explanation
       FROM workflow_job_nodes n LEFT JOIN unified_jobs j ON j.id = n.job_id WHERE n.workflow_job_id = $1`, [workflowJob]);
  return Object.fromEntries(rows.map((r) => [r.identifier, r]));
}

beforeAll(async () => {
  t = await useTestEnv({ PLAYSTREAM_DISPATCHER_WORKERS: '4' });
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, PLAYBOOKS));
  dispatcher = startDispatcher(t.env);
  // Every test may run alone (-t): the project is checked out before any of them.
  expect((await waitForStatus(t.pool, await launchProjectUpdate(t.pool, project), ['successful', 'failed', 'error'])).status).toBe('successful');
}, 120_000);

afterAll(async () => { if (dispatcher) await stopProcess(dispatcher); });

describe('workflows through the dispatcher', () => {
  it('project sync → failing job → on failure a second job: the failure path runs, the success path is do_not_run, the workflow succeeds', async () => {
    const fail = await insertJobTemplate(t.pool, { name: 'fails', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'fail.yml' });
    const ok = await insertJobTemplate(t.pool, { name: 'recovers', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'ok.yml' });
    const w = await wfjt('sync then fail then recover');
    const sync = await node(w, 'sync', project);
    const job = await node(w, 'job', fail);
    const onFailure = await node(w, 'on-failure', ok);
    const onSuccess = await node(w, 'on-success', ok);
    await edge(sync, 'success', job);
    await edge(job, 'failure', onFailure);
    await edge(job, 'success', onSuccess);

    // The workflow_events-<id> websocket group hears each node job's status changes, as AWX's UI follows them.
    const sub = t.redis.duplicate();
    const events: Record<string, any>[] = [];
    sub.on('message', (_channel: string, text: string) => {
      const m = JSON.parse(text);
      if (String(m.group).startsWith('workflow_events-')) events.push(...m.messages.map((x: any) => ({ ...x, group: m.group })));
    });
    await sub.subscribe(redisKeys(t.config).broadcastChannel);
    const wj = await launchWorkflowJobTemplate(t.pool, w, { launchType: 'manual' });
    const done = await waitForStatus(t.pool, wj, ['successful', 'failed', 'error', 'canceled'], 180_000);
    const nodes = await jobNodes(wj);
    await waitFor(async () => events.some((e) => e.unified_job_id === nodes['on-failure'].job_id && e.status === 'successful'), 10_000, 'the last node event');
    await sub.quit();
    const statuses = (id: number) => events.filter((e) => e.unified_job_id === id).map((e) => e.status);
    expect(events.every((e) => e.group === `workflow_events-${wj}` && e.group_name === 'workflow_events' && e.workflow_job_id === wj)).toBe(true);
    // Each node's job is announced as the workflow pass creates it (pending), as AWX's signal_start does.
    expect(statuses(nodes.sync.job_id)).toEqual(['pending', 'waiting', 'running', 'successful']);
    expect(statuses(nodes.job.job_id)).toEqual(['pending', 'waiting', 'running', 'failed']);
    expect(statuses(nodes['on-failure'].job_id)).toEqual(['pending', 'waiting', 'running', 'successful']);
    expect(done.status, done.job_explanation).toBe('successful');
    expect(nodes.sync).toMatchObject({ kind: 'project_update', status: 'successful', launch_type: 'workflow', do_not_run: false });
    expect(nodes.job).toMatchObject({ kind: 'job', status: 'failed', launch_type: 'workflow' });
    expect(nodes['on-failure']).toMatchObject({ kind: 'job', status: 'successful', launch_type: 'workflow' });
    expect(nodes['on-success']).toMatchObject({ do_not_run: true, job_id: null });
    expect(nodes.job.created.getTime() - nodes.sync.finished.getTime()).toBeLessThan(HANDOVER_MS);
    expect(nodes['on-failure'].created.getTime() - nodes.job.finished.getTime()).toBeLessThan(HANDOVER_MS);
    const { rows: [tpl] } = await t.pool.query('SELECT status, last_job_id, last_job_failed FROM workflow_job_templates WHERE id = $1', [w]);
    expect(tpl).toMatchObject({ status: 'successful', last_job_id: wj, last_job_failed: false });
  }, 240_000);

  it('a failed job without a failure path fails the workflow, with AWX\'s explanation', async () => {
    const fail = await insertJobTemplate(t.pool, { name: 'fails alone', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'fail.yml' });
    const ok = await insertJobTemplate(t.pool, { name: 'never', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'ok.yml' });
    const w = await wfjt('fail without a path');
    const first = await node(w, 'first', fail);
    await edge(first, 'success', await node(w, 'then', ok));
    const wj = await launchWorkflowJobTemplate(t.pool, w, { launchType: 'manual' });
    const done = await waitForStatus(t.pool, wj, ['successful', 'failed', 'error', 'canceled'], 180_000);
    expect(done).toMatchObject({ status: 'failed', failed: true, job_explanation: 'No error handling paths found, marking workflow as failed' });
    const nodes = await jobNodes(wj);
    expect(nodes.first.status).toBe('failed');
    expect(nodes.then).toMatchObject({ do_not_run: true, job_id: null });
  }, 240_000);

  it('nested: a workflow node runs another workflow, and its outcome follows the edges', async () => {
    const ok = await insertJobTemplate(t.pool, { name: 'inner ok', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'ok.yml' });
    const inner = await wfjt('inner');
    await node(inner, 'inner-job', ok);
    const outer = await wfjt('outer');
    const child = await node(outer, 'child', inner);
    await edge(child, 'success', await node(outer, 'after', ok));
    const wj = await launchWorkflowJobTemplate(t.pool, outer, { launchType: 'manual' });
    const done = await waitForStatus(t.pool, wj, ['successful', 'failed', 'error', 'canceled'], 180_000);
    const nodes = await jobNodes(wj);
    expect(done.status, done.job_explanation).toBe('successful');
    expect(nodes.child).toMatchObject({ kind: 'workflow_job', status: 'successful', launch_type: 'workflow' });
    expect(nodes.after).toMatchObject({ kind: 'job', status: 'successful' });
    expect((await jobNodes(nodes.child.job_id))['inner-job']).toMatchObject({ kind: 'job', status: 'successful' });
  }, 240_000);

  it('set_stats artifacts of a job reach the extra vars of the nodes after it', async () => {
    const stats = await insertJobTemplate(t.pool, { name: 'sets stats', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'stats.yml' });
    const use = await insertJobTemplate(t.pool, { name: 'uses stats', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'use.yml' });
    const w = await wfjt('artifacts');
    const first = await node(w, 'stats', stats);
    await edge(first, 'success', await node(w, 'use', use));
    const wj = await launchWorkflowJobTemplate(t.pool, w, { launchType: 'manual' });
    const done = await waitForStatus(t.pool, wj, ['successful', 'failed', 'error', 'canceled'], 180_000);
    const nodes = await jobNodes(wj);
    expect(done.status, JSON.stringify(nodes)).toBe('successful');
    const { rows: [producer] } = await t.pool.query('SELECT artifacts FROM unified_jobs WHERE id = $1', [nodes.stats.job_id]);
    expect(producer.artifacts).toEqual({ handoff: 42, build: 'b-7' });
    const { rows: [consumer] } = await t.pool.query('SELECT extra_vars, status FROM unified_jobs WHERE id = $1', [nodes.use.job_id]);
    expect(consumer.status).toBe('successful');
    expect(JSON.parse(consumer.extra_vars)).toMatchObject({ handoff: 42, build: 'b-7' });
  }, 240_000);

  it('approvals: one approved lets the next job run; one left to time out fails and takes its failure path', async () => {
    const ok = await insertJobTemplate(t.pool, { name: 'after approval', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'ok.yml' });
    const gated = async (name: string, timeout: number) => {
      const w = await wfjt(name);
      const approval = (await t.pool.query('INSERT INTO workflow_approval_templates (name, timeout) VALUES ($1, $2) RETURNING id', [`${name} gate`, timeout])).rows[0].id;
      const gate = await node(w, 'gate', approval);
      await edge(gate, 'success', await node(w, 'deploy', ok));
      await edge(gate, 'failure', await node(w, 'rollback', ok));
      return launchWorkflowJobTemplate(t.pool, w, { launchType: 'manual' });
    };
    const approved = await gated('approved', 0);
    const expiring = await gated('expiring', 2);
    // Twice in loaded runs the first gate was not pending after 60 s, for a cause not found yet:
    // the failure says what the workflow and the jobs not finished were then.
    const gateIn = async (wj: number, states: string[]) => {
      try {
        return await waitFor(async () => {
          const n = (await jobNodes(wj)).gate;
          return states.includes(n?.status) ? n : null;
        }, 90_000, 'the approval to wait');
      } catch (err) {
        const { rows } = await t.pool.query(`SELECT id, kind, status, job_explanation, created, started FROM unified_jobs
          WHERE id = $1 OR status NOT IN ('successful', 'failed', 'error', 'canceled') ORDER BY id`, [wj]);
        throw new Error(`${(err as Error).message}: nodes ${JSON.stringify(await jobNodes(wj))}, jobs ${JSON.stringify(rows)}`);
      }
    };
    const gate = await gateIn(approved, ['pending']);
    // Its 2 s may be up before a loaded machine's poll sees it wait.
    await gateIn(expiring, ['pending', 'failed']);
    expect(await decideApproval(t.pool, undefined, gate.job_id, null, true)).toBe(true);

    const first = await waitForStatus(t.pool, approved, ['successful', 'failed', 'error', 'canceled'], 120_000);
    expect(first.status).toBe('successful');
    const a = await jobNodes(approved);
    expect(a.gate).toMatchObject({ kind: 'workflow_approval', status: 'successful' });
    expect(a.deploy).toMatchObject({ kind: 'job', status: 'successful' });
    expect(a.rollback).toMatchObject({ do_not_run: true, job_id: null });
    expect(a.deploy.created.getTime() - a.gate.finished.getTime()).toBeLessThan(HANDOVER_MS);

    const second = await waitForStatus(t.pool, expiring, ['successful', 'failed', 'error', 'canceled'], 120_000);
    const e = await jobNodes(expiring);
    expect(second.status).toBe('successful');
    expect(e.gate).toMatchObject({ kind: 'workflow_approval', status: 'failed',
      job_explanation: `The approval node expiring gate (${e.gate.job_id}) has expired after 2 seconds.` });
    expect(e.rollback).toMatchObject({ kind: 'job', status: 'successful' });
    expect(e.deploy).toMatchObject({ do_not_run: true, job_id: null });
  }, 240_000);

  it('job slicing: 6 hosts in 3 slices run as a workflow of 3 jobs, each on every third host by name, rolled up', async () => {
    const six = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('six', $1) RETURNING id`, [org])).rows[0].id;
    for (const h of ['h1', 'h2', 'h3', 'h4', 'h5', 'h6']) {
      await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ($1, $2, $3)`,
        [h, six, 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"']);
    }
    const sliced = await insertJobTemplate(t.pool, { name: 'sliced', organization_id: org, inventory_id: six, project_id: project,
      playbook: 'ok.yml', job_slice_count: 3, allow_simultaneous: false });
    const wj = await launchJobTemplate(t.pool, sliced, { overrides: { extra_vars: { who: 'slices' } } });
    const done = await waitForStatus(t.pool, wj, ['successful', 'failed', 'error', 'canceled'], 180_000);
    expect(done).toMatchObject({ kind: 'workflow_job', is_sliced_job: true, job_slice_count: 3, unified_job_template_id: sliced, status: 'successful' });
    const { rows: jobs } = await t.pool.query(
      `SELECT j.id, j.job_slice_number, j.job_slice_count, j.status, j.extra_vars FROM workflow_job_nodes n JOIN unified_jobs j ON j.id = n.job_id
        WHERE n.workflow_job_id = $1 ORDER BY j.job_slice_number`, [wj]);
    expect(jobs.map((j) => [j.job_slice_number, j.job_slice_count, j.status])).toEqual([[1, 3, 'successful'], [2, 3, 'successful'], [3, 3, 'successful']]);
    const hostsOf = async (id: number) => [...new Set((await pushedEvents(t, 'job_id', id)).filter((e) => e.event === 'runner_on_ok')
      .map((e) => e.event_data.host))].sort();
    expect(await Promise.all(jobs.map((j) => hostsOf(j.id)))).toEqual([['h1', 'h4'], ['h2', 'h5'], ['h3', 'h6']]);
    expect(JSON.parse(jobs[0].extra_vars)).toMatchObject({ who: 'slices' });
  }, 240_000);

  it('cancel mid-run stops the running job, leaves the rest unrun and cancels the workflow', async () => {
    const sleep = await insertJobTemplate(t.pool, { name: 'sleeps', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'sleep.yml' });
    const ok = await insertJobTemplate(t.pool, { name: 'after sleep', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'ok.yml' });
    const w = await wfjt('cancel me');
    const first = await node(w, 'sleep', sleep);
    await edge(first, 'always', await node(w, 'next', ok));
    const wj = await launchWorkflowJobTemplate(t.pool, w, { launchType: 'manual' });
    const running = await waitFor(async () => {
      const n = (await jobNodes(wj)).sleep;
      return n?.status === 'running' ? n : null;
    }, 120_000, 'the sleeping node to run');
    expect(await cancelUnifiedJob(t.pool, wj)).toBe(true);
    await wakeTaskManager(t.pool);
    const done = await waitForStatus(t.pool, wj, ['successful', 'failed', 'error', 'canceled'], 60_000);
    expect(done.status).toBe('canceled');
    const nodes = await jobNodes(wj);
    expect(nodes.sleep).toMatchObject({ job_id: running.job_id, status: 'canceled' });
    expect(nodes.next).toMatchObject({ do_not_run: true, job_id: null });
  }, 240_000);
});
