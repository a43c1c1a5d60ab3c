import { beforeAll, describe, expect, it } from 'vitest';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Approval nodes through the API (AWX's workflow_approval_templates / workflow_approvals):
 * an approval waits in pending, the approval role decides it, a decided one cannot be
 * decided again, and one left past its timeout fails (timed_out) and takes its failure path.
 * The task manager's passes run here by hand.
 */
let env: TestEnv;
let url: string;
let api: ApiCall;
const pass = () => runTaskManagerPass(env.pool, { heartbeatTolerance: 60 });
let jt: any;

beforeAll(async () => {
  ({ t: env, url, api } = await useSeededWeb());
  jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
});

/** approve-node → (success) job-node, (failure) rollback-node; launched. */
async function approvalWorkflow(name: string, timeout: number): Promise<{ wfjt: number; wj: number; nodes: Record<string, any> }> {
  const w = (await api('POST', '/api/v2/workflow_job_templates/', { name, organization: 1 })).json;
  const gate = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { identifier: 'gate' })).json;
  const tpl = await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/create_approval_template/`, { name: `${name} gate`, timeout });
  expect(tpl.status).toBe(201);
  expect(tpl.json).toMatchObject({ type: 'workflow_approval_template', name: `${name} gate`, timeout });
  expect((await api('GET', `/api/v2/workflow_job_template_nodes/${gate.id}/`)).json.summary_fields.unified_job_template)
    .toMatchObject({ id: tpl.json.id, unified_job_type: 'workflow_approval' });
  await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/success_nodes/`, { unified_job_template: jt.id, identifier: 'deploy' });
  await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/failure_nodes/`, { unified_job_template: jt.id, identifier: 'rollback' });
  const wj = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/launch/`, {})).json.id;
  await pass();
  const list = (await api('GET', `/api/v2/workflow_jobs/${wj}/workflow_nodes/`)).json.results;
  return { wfjt: w.id, wj, nodes: Object.fromEntries(list.map((n: any) => [n.identifier, n])) };
}

async function node(wj: number, identifier: string): Promise<any> {
  return (await api('GET', `/api/v2/workflow_jobs/${wj}/workflow_nodes/?identifier=${identifier}`)).json.results[0];
}

describe('workflow approvals', () => {
  it('an approval waits pending; the approval role approves it once; the success path runs', async () => {
    const { wfjt, wj, nodes } = await approvalWorkflow('gated', 0);
    const approvalId = nodes.gate.job;
    expect(approvalId).not.toBeNull();
    const approval = (await api('GET', `/api/v2/workflow_approvals/${approvalId}/`)).json;
    expect(approval).toMatchObject({ type: 'workflow_approval', status: 'pending', launch_type: 'workflow', can_approve_or_deny: true,
      timed_out: false, expires: null });
    await pass();
    expect((await api('GET', `/api/v2/workflow_approvals/${approvalId}/`)).json.status).toBe('pending');

    const user = (await api('POST', '/api/v2/organizations/1/users/', { username: 'ana', password: 'ana-pass' })).json;
    const ana = basicAuth('ana', 'ana-pass');
    const roles = (await api('GET', `/api/v2/workflow_job_templates/${wfjt}/object_roles/`)).json.results;
    await api('POST', `/api/v2/roles/${roles.find((r: any) => r.name === 'Read').id}/users/`, { id: user.id });
    expect((await api('GET', `/api/v2/workflow_approvals/${approvalId}/`, undefined, ana)).json.can_approve_or_deny).toBe(false);
    expect((await api('POST', `/api/v2/workflow_approvals/${approvalId}/approve/`, {}, ana)).status).toBe(403);
    await api('POST', `/api/v2/roles/${roles.find((r: any) => r.name === 'Approve').id}/users/`, { id: user.id });
    expect((await api('POST', `/api/v2/workflow_approvals/${approvalId}/approve/`, {}, ana)).status).toBe(204);
    const decided = (await api('GET', `/api/v2/workflow_approvals/${approvalId}/`)).json;
    expect(decided).toMatchObject({ status: 'successful', approved_or_denied_by: user.id });
    const again = await api('POST', `/api/v2/workflow_approvals/${approvalId}/deny/`, {}, ana);
    expect(again.status).toBe(400);
    expect(again.json).toEqual({ error: 'This workflow step has already been approved or denied.' });

    await pass();
    expect((await node(wj, 'deploy')).job).not.toBeNull();
    expect((await node(wj, 'rollback')).do_not_run).toBe(true);
  });

  it('a denied approval takes the failure path', async () => {
    const { wj, nodes } = await approvalWorkflow('denied', 0);
    expect((await api('POST', `/api/v2/workflow_approvals/${nodes.gate.job}/deny/`, {})).status).toBe(204);
    expect((await api('GET', `/api/v2/workflow_approvals/${nodes.gate.job}/`)).json.status).toBe('failed');
    await pass();
    expect((await node(wj, 'rollback')).job).not.toBeNull();
    expect((await node(wj, 'deploy')).do_not_run).toBe(true);
  });

  it('an approval left past its timeout fails as timed out, with AWX\'s explanation, and takes the failure path', async () => {
    const { wj, nodes } = await approvalWorkflow('expires', 1);
    const approvalId = nodes.gate.job;
    expect((await api('GET', `/api/v2/workflow_approvals/${approvalId}/`)).json.expires).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1300));
    await pass();
    const expired = (await api('GET', `/api/v2/workflow_approvals/${approvalId}/`)).json;
    expect(expired).toMatchObject({ status: 'failed', timed_out: true,
      job_explanation: `The approval node expires gate (${approvalId}) has expired after 1 seconds.` });
    expect((await api('POST', `/api/v2/workflow_approvals/${approvalId}/approve/`, {})).status).toBe(400);
    await pass();
    expect((await node(wj, 'rollback')).job).not.toBeNull();
    expect((await node(wj, 'deploy')).do_not_run).toBe(true);
    expect((await api('GET', `/api/v2/unified_jobs/?id=${approvalId}`)).json.results[0]).toMatchObject({ type: 'workflow_approval',
      url: `/api/v2/workflow_approvals/${approvalId}/` });
  });

  it('approval templates are created through a node only, and refuse prompts', async () => {
    expect((await api('POST', '/api/v2/workflow_approval_templates/', { name: 'direct' })).status).toBe(405);
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'prompted', organization: 1 })).json;
    const n = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, {})).json;
    expect((await api('POST', `/api/v2/workflow_job_template_nodes/${n.id}/create_approval_template/`, { timeout: -1 })).json)
      .toMatchObject({ name: expect.any(Array), timeout: expect.any(Array) });
    await api('POST', `/api/v2/workflow_job_template_nodes/${n.id}/create_approval_template/`, { name: 'ok' });
    const limited = await api('PATCH', `/api/v2/workflow_job_template_nodes/${n.id}/`, { limit: 'web' });
    expect(limited.status).toBe(400);
    expect(limited.json.limit).toBeDefined();
  });
});
