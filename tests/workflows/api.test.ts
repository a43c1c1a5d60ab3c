import { beforeAll, describe, expect, it } from 'vitest';
import { launchUnifiedJobTemplate } from '../../src/scheduler/launch.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * The workflow API against a real server and Postgres: templates, nodes and their edges as
 * AWX accepts and refuses them, node prompts checked against their templates, RBAC on
 * templates and on what nodes point at, launch copying the graph, the task manager's
 * workflow pass (run here by hand; no instance, so spawned jobs stay pending), cancel
 * cascading to children, and recursion refused.
 */
let env: TestEnv;
let url: string;
let api: ApiCall;
const pass = () => runTaskManagerPass(env.pool, { heartbeatTolerance: 60 });
let jt: any;

async function status(id: number): Promise<string> {
  return (await env.pool.query('SELECT status FROM unified_jobs WHERE id = $1', [id])).rows[0].status;
}

beforeAll(async () => {
  ({ t: env, url, api } = await useSeededWeb());
  jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
});

describe('workflow API', () => {
  it('creates, reads and edits workflow job templates; refuses what it does not implement, naming the field', async () => {
    const w = await api('POST', '/api/v2/workflow_job_templates/', { name: 'wf', organization: 1, extra_vars: { a: 1 }, limit: 'web' });
    expect(w.status).toBe(201);
    expect(w.json).toMatchObject({ type: 'workflow_job_template', name: 'wf', organization: 1, limit: 'web', allow_simultaneous: false });
    expect(JSON.parse(w.json.extra_vars)).toEqual({ a: 1 });
    expect(w.json.related.workflow_nodes).toBe(`/api/v2/workflow_job_templates/${w.json.id}/workflow_nodes/`);
    expect((await api('GET', `/api/v2/workflow_job_templates/wf++Default/`)).json.id).toBe(w.json.id);
    expect((await api('PATCH', `/api/v2/workflow_job_templates/${w.json.id}/`, { allow_simultaneous: true })).json.allow_simultaneous).toBe(true);
    const labelsPrompt = await api('POST', '/api/v2/workflow_job_templates/', { name: 'wf2', organization: 1, ask_labels_on_launch: true });
    expect(labelsPrompt.status).toBe(400);
    expect(labelsPrompt.json.ask_labels_on_launch).toBeDefined();
    const badVars = await api('POST', '/api/v2/workflow_job_templates/', { name: 'wf3', organization: 1, extra_vars: '[1, 2' });
    expect(badVars.status).toBe(400);
    expect(badVars.json.extra_vars).toBeDefined();
    expect((await api('DELETE', `/api/v2/workflow_job_templates/${w.json.id}/`)).status).toBe(204);
  });

  it('checks node prompts against the node template and links edges as AWX does', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'graph', organization: 1 })).json;
    const nodes = `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`;
    const refused = await api('POST', nodes, { unified_job_template: jt.id, limit: 'web' });
    expect(refused.status).toBe(400);
    expect(refused.json.limit).toEqual(['Field is not configured to prompt on launch.']);
    const vars = await api('POST', nodes, { unified_job_template: jt.id, extra_data: { x: 1 } });
    expect(vars.status).toBe(400);
    expect(vars.json.extra_data).toBeDefined();
    const forks = await api('POST', nodes, { unified_job_template: jt.id, forks: 3 });
    expect(forks.status).toBe(400);
    expect(forks.json.forks).toBeDefined();
    expect((await api('POST', nodes, { unified_job_template: 999_999 })).json.unified_job_template).toBeDefined();
    await api('PATCH', `/api/v2/job_templates/${jt.id}/`, { ask_limit_on_launch: true });
    const a = await api('POST', nodes, { unified_job_template: jt.id, limit: 'web', identifier: 'a' });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ workflow_job_template: w.id, unified_job_template: jt.id, limit: 'web', identifier: 'a',
      success_nodes: [], failure_nodes: [], always_nodes: [], all_parents_must_converge: false });
    expect(a.json.summary_fields.unified_job_template).toMatchObject({ id: jt.id, unified_job_type: 'job' });
    const b = (await api('POST', nodes, { unified_job_template: jt.id, identifier: 'b' })).json;
    // A body without id creates a node and links it.
    const c = await api('POST', `/api/v2/workflow_job_template_nodes/${b.id}/failure_nodes/`, { unified_job_template: jt.id, identifier: 'c' });
    expect(c.status).toBe(201);
    expect((await api('GET', `/api/v2/workflow_job_template_nodes/${b.id}/`)).json.failure_nodes).toEqual([c.json.id]);

    expect((await api('POST', `/api/v2/workflow_job_template_nodes/${a.json.id}/success_nodes/`, { id: b.id })).status).toBe(204);
    expect((await api('GET', `/api/v2/workflow_job_template_nodes/${a.json.id}/success_nodes/`)).json.results.map((n: any) => n.id)).toEqual([b.id]);
    const other = await api('POST', `/api/v2/workflow_job_template_nodes/${a.json.id}/failure_nodes/`, { id: b.id });
    expect(other.status).toBe(400);
    expect(other.json).toEqual({ Error: 'Relationship not allowed.' });
    const cycle = await api('POST', `/api/v2/workflow_job_template_nodes/${c.json.id}/always_nodes/`, { id: a.json.id });
    expect(cycle.status).toBe(400);
    expect(cycle.json).toEqual({ Error: 'Cycle detected.' });
    expect((await api('POST', `/api/v2/workflow_job_template_nodes/${a.json.id}/always_nodes/`, { id: a.json.id })).json).toEqual({ Error: 'Cycle detected.' });
    expect((await api('POST', `/api/v2/workflow_job_template_nodes/${a.json.id}/success_nodes/`, { id: b.id, disassociate: true })).status).toBe(204);
    expect((await api('GET', `/api/v2/workflow_job_template_nodes/${a.json.id}/`)).json.success_nodes).toEqual([]);
    const elsewhere = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'elsewhere', organization: 1 })).json;
    const foreign = (await api('POST', `/api/v2/workflow_job_templates/${elsewhere.id}/workflow_nodes/`, { unified_job_template: jt.id })).json;
    expect((await api('POST', `/api/v2/workflow_job_template_nodes/${a.json.id}/success_nodes/`, { id: foreign.id })).status).toBe(403);
    await api('PATCH', `/api/v2/job_templates/${jt.id}/`, { ask_limit_on_launch: false });
  });

  it('RBAC: workflow admin of the organization creates; nodes need the right to start their template; execute launches', async () => {
    const user = (await api('POST', '/api/v2/organizations/1/users/', { username: 'wendy', password: 'wendy-pass' })).json;
    const wendy = basicAuth('wendy', 'wendy-pass');
    expect((await api('POST', '/api/v2/workflow_job_templates/', { name: 'hers', organization: 1 }, wendy)).status).toBe(403);
    const orgRoles = (await api('GET', '/api/v2/organizations/1/')).json.summary_fields.object_roles;
    expect((await api('POST', `/api/v2/roles/${orgRoles.workflow_admin_role.id}/users/`, { id: user.id })).status).toBe(204);
    const w = await api('POST', '/api/v2/workflow_job_templates/', { name: 'hers', organization: 1 }, wendy);
    expect(w.status).toBe(201);
    const denied = await api('POST', `/api/v2/workflow_job_templates/${w.json.id}/workflow_nodes/`, { unified_job_template: jt.id }, wendy);
    expect(denied.status).toBe(403);
    const jtRoles = (await api('GET', `/api/v2/job_templates/${jt.id}/`)).json.summary_fields.object_roles;
    await api('POST', `/api/v2/roles/${jtRoles.execute_role.id}/users/`, { id: user.id });
    expect((await api('POST', `/api/v2/workflow_job_templates/${w.json.id}/workflow_nodes/`, { unified_job_template: jt.id }, wendy)).status).toBe(201);

    const reader = (await api('POST', '/api/v2/organizations/1/users/', { username: 'rita', password: 'rita-pass' })).json;
    const rita = basicAuth('rita', 'rita-pass');
    const wRoles = (await api('GET', `/api/v2/workflow_job_templates/${w.json.id}/object_roles/`)).json.results;
    const role = (name: string) => wRoles.find((r: any) => r.name === name);
    await api('POST', `/api/v2/roles/${role('Read').id}/users/`, { id: reader.id });
    expect((await api('GET', `/api/v2/workflow_job_templates/${w.json.id}/`, undefined, rita)).status).toBe(200);
    expect((await api('POST', `/api/v2/workflow_job_templates/${w.json.id}/launch/`, {}, rita)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/workflow_job_templates/${w.json.id}/`, { name: 'x' }, rita)).status).toBe(403);
    await api('POST', `/api/v2/roles/${role('Execute').id}/users/`, { id: reader.id });
    const launched = await api('POST', `/api/v2/workflow_job_templates/${w.json.id}/launch/`, {}, rita);
    expect(launched.status).toBe(201);
    expect((await api('GET', `/api/v2/workflow_jobs/${launched.json.id}/`, undefined, rita)).status).toBe(200);
    expect((await api('GET', `/api/v2/workflow_jobs/${launched.json.id}/workflow_nodes/`, undefined, rita)).json.count).toBe(1);
    expect((await api('POST', `/api/v2/workflow_jobs/${launched.json.id}/cancel/`, {}, rita)).status).toBe(202);
    expect(await status(launched.json.id)).toBe('canceled');
  });

  it('launch copies the graph; the workflow pass runs the root with its prompts and a cancel cascades to it', async () => {
    await api('PATCH', `/api/v2/job_templates/${jt.id}/`, { ask_limit_on_launch: true, ask_variables_on_launch: true });
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'runs', organization: 1, extra_vars: { from_wf: 1 } })).json;
    const nodes = `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`;
    const root = (await api('POST', nodes, { unified_job_template: jt.id, limit: 'localhost', extra_data: { from_node: 2 }, identifier: 'root' })).json;
    const next = (await api('POST', `/api/v2/workflow_job_template_nodes/${root.id}/success_nodes/`, { unified_job_template: jt.id, identifier: 'next' })).json;
    const launched = await api('POST', `/api/v2/workflow_job_templates/${w.id}/launch/`, { limit: 'ignored-here' });
    expect(launched.status).toBe(201);
    expect(launched.json).toMatchObject({ workflow_job: launched.json.id, type: 'workflow_job', status: 'pending', workflow_job_template: w.id,
      ignored_fields: { limit: 'ignored-here' } });
    const wjId = launched.json.id;
    const jobNodes = (await api('GET', `/api/v2/workflow_jobs/${wjId}/workflow_nodes/`)).json.results;
    expect(jobNodes.map((n: any) => n.identifier)).toEqual(['root', 'next']);
    expect(jobNodes[0].success_nodes).toEqual([jobNodes[1].id]);
    expect(jobNodes[0]).toMatchObject({ job: null, do_not_run: false, limit: 'localhost' });

    await pass();
    expect(await status(wjId)).toBe('running');
    const rootNode = (await api('GET', `/api/v2/workflow_job_nodes/${jobNodes[0].id}/`)).json;
    expect(rootNode.job).not.toBeNull();
    expect(rootNode.summary_fields.job).toMatchObject({ id: rootNode.job, type: 'job' });
    const job = (await api('GET', `/api/v2/jobs/${rootNode.job}/`)).json;
    expect(job).toMatchObject({ launch_type: 'workflow', limit: 'localhost', job_template: jt.id });
    expect(JSON.parse(job.extra_vars)).toMatchObject({ from_wf: 1, from_node: 2 });
    expect((await api('GET', `/api/v2/workflow_job_nodes/${jobNodes[1].id}/`)).json.job).toBeNull();
    const unified = (await api('GET', `/api/v2/unified_jobs/?id=${wjId}`)).json.results[0];
    expect(unified).toMatchObject({ type: 'workflow_job', url: `/api/v2/workflow_jobs/${wjId}/` });

    expect((await api('POST', `/api/v2/workflow_jobs/${wjId}/cancel/`, {})).status).toBe(202);
    await pass();
    expect(await status(rootNode.job)).toBe('canceled');
    await pass();
    expect(await status(wjId)).toBe('canceled');
    expect((await api('GET', `/api/v2/workflow_job_nodes/${jobNodes[1].id}/`)).json.do_not_run).toBe(true);
    expect((await api('POST', `/api/v2/workflow_jobs/${wjId}/cancel/`, {})).status).toBe(405);
    await api('PATCH', `/api/v2/job_templates/${jt.id}/`, { ask_limit_on_launch: false, ask_variables_on_launch: false });
    void next;
  });

  it('workflow job templates are unified job templates: listed, scheduled, launched by id', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'unified', organization: 1 })).json;
    await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { unified_job_template: jt.id, identifier: 'only' });
    const listed = (await api('GET', `/api/v2/unified_job_templates/?name=unified`)).json.results;
    expect(listed).toEqual([expect.objectContaining({ id: w.id, type: 'workflow_job_template', url: `/api/v2/workflow_job_templates/${w.id}/` })]);
    const s = await api('POST', `/api/v2/workflow_job_templates/${w.id}/schedules/`, { name: 'nightly', rrule: 'DTSTART:20300101T120000Z RRULE:FREQ=DAILY;INTERVAL=1' });
    expect(s.status, JSON.stringify(s.json)).toBe(201);
    expect(s.json.unified_job_template).toBe(w.id);
    const wj = await launchUnifiedJobTemplate(env.pool, w.id, { launchType: 'scheduled', scheduleId: s.json.id, overrides: { limit: 'not-asked' } });
    const job = (await api('GET', `/api/v2/workflow_jobs/${wj}/`)).json;
    expect(job).toMatchObject({ type: 'workflow_job', launch_type: 'scheduled', schedule: s.json.id, workflow_job_template: w.id });
    expect((await api('GET', `/api/v2/workflow_jobs/${wj}/workflow_nodes/`)).json.results.map((n: any) => n.identifier)).toEqual(['only']);
  });

  it('a job template with job_slice_count launches a sliced workflow job (one slice per host at most)', async () => {
    const inv = (await api('POST', '/api/v2/inventories/', { name: 'two hosts', organization: 1 })).json;
    for (const name of ['a', 'b']) await api('POST', `/api/v2/inventories/${inv.id}/hosts/`, { name });
    const sliced = await api('POST', '/api/v2/job_templates/', { name: 'sliced', project: jt.project, playbook: jt.playbook, inventory: inv.id,
      job_slice_count: 5 });
    expect(sliced.status).toBe(201);
    const launched = await api('POST', `/api/v2/job_templates/${sliced.json.id}/launch/`, {});
    expect(launched.status).toBe(201);
    expect(launched.json).toMatchObject({ workflow_job: launched.json.id, type: 'workflow_job', is_sliced_job: true, job_template: sliced.json.id,
      workflow_job_template: null });
    const nodes = (await api('GET', `/api/v2/workflow_jobs/${launched.json.id}/workflow_nodes/`)).json.results;
    expect(nodes.map((n: any) => n.identifier)).toEqual(['slice-1', 'slice-2']);
    await pass();
    const { rows } = await env.pool.query(`SELECT job_slice_number, job_slice_count, allow_simultaneous FROM unified_jobs
      WHERE id IN (SELECT job_id FROM workflow_job_nodes WHERE workflow_job_id = $1) ORDER BY job_slice_number`, [launched.json.id]);
    expect(rows).toEqual([{ job_slice_number: 1, job_slice_count: 2, allow_simultaneous: true }, { job_slice_number: 2, job_slice_count: 2, allow_simultaneous: true }]);
    await api('POST', `/api/v2/workflow_jobs/${launched.json.id}/cancel/`, {});

    // The job_slice_count prompt slices a template that asks for it, and is a 400 when it is not a count.
    const prompted = (await api('POST', '/api/v2/job_templates/', { name: 'slice on ask', project: jt.project, playbook: jt.playbook,
      inventory: inv.id, ask_job_slice_count_on_launch: true })).json;
    expect((await api('POST', `/api/v2/job_templates/${prompted.id}/launch/`, { job_slice_count: 0 })).json.job_slice_count).toBeDefined();
    const split = await api('POST', `/api/v2/job_templates/${prompted.id}/launch/`, { job_slice_count: 2 });
    expect(split.json).toMatchObject({ type: 'workflow_job', is_sliced_job: true, job_template: prompted.id });
    const whole = await api('POST', `/api/v2/job_templates/${prompted.id}/launch/`, {});
    expect(whole.json).toMatchObject({ type: 'job', job: whole.json.id });
    for (const id of [split.json.id]) await api('POST', `/api/v2/workflow_jobs/${id}/cancel/`, {});
    await api('POST', `/api/v2/jobs/${whole.json.id}/cancel/`, {});
  });

  it('refuses recursion: a workflow that runs itself through a nested workflow fails that node, and the workflow with it', async () => {
    const outer = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'outer', organization: 1 })).json;
    const inner = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'inner', organization: 1 })).json;
    await api('POST', `/api/v2/workflow_job_templates/${outer.id}/workflow_nodes/`, { unified_job_template: inner.id });
    await api('POST', `/api/v2/workflow_job_templates/${inner.id}/workflow_nodes/`, { unified_job_template: outer.id });
    const wj = (await api('POST', `/api/v2/workflow_job_templates/${outer.id}/launch/`, {})).json.id;
    for (let i = 0; i < 6; i++) await pass();
    const outerNode = (await api('GET', `/api/v2/workflow_jobs/${wj}/workflow_nodes/`)).json.results[0];
    const innerJob = outerNode.job;
    const innerNode = (await api('GET', `/api/v2/workflow_jobs/${innerJob}/workflow_nodes/`)).json.results[0];
    const refused = (await api('GET', `/api/v2/workflow_jobs/${innerNode.job}/`)).json;
    expect(refused).toMatchObject({ status: 'failed', launch_type: 'workflow',
      job_explanation: 'Workflow Job spawned from workflow could not start because it would result in recursion (spawn order, most recent first: <outer>, <inner>, <outer>)' });
    expect(await status(innerJob)).toBe('failed');
    const done = (await api('GET', `/api/v2/workflow_jobs/${wj}/`)).json;
    expect(done).toMatchObject({ status: 'failed', job_explanation: 'No error handling paths found, marking workflow as failed' });
    expect((await api('GET', `/api/v2/workflow_job_templates/${outer.id}/`)).json).toMatchObject({ last_job: wj, status: 'failed', last_job_failed: true });
  });
});
