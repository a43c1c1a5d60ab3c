import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendDueNotifications } from '../../src/scheduler/notifications.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Workflow notifications (AWX's notification_templates_started/_success/_error/_approvals on
 * a workflow job template): webhook templates attached to a workflow job template, sent to
 * a local HTTP receiver when its workflow job starts and ends, and when an approval waits
 * for review, is approved, denied or times out. The task manager's passes and the sender
 * run here by hand.
 */
let env: TestEnv;
let api: ApiCall;
const received: { path: string; body: any }[] = [];
const hook = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => { received.push({ path: req.url ?? '', body: JSON.parse(body) }); res.end('ok'); });
});
let hookUrl = '';
const pass = () => runTaskManagerPass(env.pool, { heartbeatTolerance: 60 });
const send = async () => { while (await sendDueNotifications(env.pool, env.secrets) > 0) { /* until none is due */ } };
const EVENTS = ['started', 'success', 'error', 'approvals'] as const;
let nts: Record<string, number>;

beforeAll(async () => {
  ({ t: env, api } = await useSeededWeb());
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}`;
  nts = {};
  for (const e of EVENTS) {
    const nt = await api('POST', '/api/v2/notification_templates/', { name: `wf ${e}`, organization: 1, notification_type: 'webhook',
      notification_configuration: { url: `${hookUrl}/${e}`, http_method: 'POST', headers: {} },
      ...(e === 'approvals' ? { messages: { workflow_approval: { approved: { body: '{"text": "{{ approval_node_name }} is {{ approval_status }}"}' } } } } : {}) });
    expect(nt.status, nt.text).toBe(201);
    nts[e] = nt.json.id;
  }
});
afterAll(() => new Promise<void>((r) => hook.close(() => r())));

/** A workflow job template of one approval node, each event's webhook attached. */
async function gatedTemplate(name: string, timeout: number): Promise<number> {
  const w = (await api('POST', '/api/v2/workflow_job_templates/', { name, organization: 1 })).json;
  const gate = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { identifier: 'gate' })).json;
  await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/create_approval_template/`, { name: `${name} gate`, timeout });
  for (const e of EVENTS) {
    const res = await api('POST', `/api/v2/workflow_job_templates/${w.id}/notification_templates_${e}/`, { id: nts[e] });
    expect(res.status, res.text).toBe(204);
  }
  return w.id;
}

async function launch(wfjt: number): Promise<{ wj: number; approval: number }> {
  const wj = (await api('POST', `/api/v2/workflow_job_templates/${wfjt}/launch/`, {})).json.id;
  await pass();
  const node = (await api('GET', `/api/v2/workflow_jobs/${wj}/workflow_nodes/`)).json.results[0];
  return { wj, approval: node.job };
}

const since = (n: number) => received.slice(n).map((r) => ({ path: r.path, body: r.body }));

describe('workflow notifications', () => {
  it('attaches notification templates to a workflow job template for started, success, error and approvals', async () => {
    const wfjt = await gatedTemplate('listed', 0);
    const w = (await api('GET', `/api/v2/workflow_job_templates/${wfjt}/`)).json;
    for (const e of EVENTS) {
      expect(w.related[`notification_templates_${e}`]).toBe(`/api/v2/workflow_job_templates/${wfjt}/notification_templates_${e}/`);
      const list = (await api('GET', `/api/v2/workflow_job_templates/${wfjt}/notification_templates_${e}/`)).json;
      expect(list.results.map((r: any) => r.id)).toEqual([nts[e]]);
    }
    expect((await api('POST', `/api/v2/workflow_job_templates/${wfjt}/notification_templates_error/`, { id: nts.error, disassociate: true })).status).toBe(204);
    expect((await api('GET', `/api/v2/workflow_job_templates/${wfjt}/notification_templates_error/`)).json.count).toBe(0);
  });

  it('sends started, needs review, approved and success as the workflow runs and its approval is approved', async () => {
    const wfjt = await gatedTemplate('approved flow', 0);
    const before = received.length;
    const { wj, approval } = await launch(wfjt);
    await send();
    expect(since(before)).toEqual(expect.arrayContaining([
      { path: '/started', body: expect.objectContaining({ id: wj, status: 'running', type: 'workflow_job' }) },
      { path: '/approvals', body: { body: expect.stringMatching(/^The approval node "approved flow gate" needs review\. This node can be viewed at: .*\/jobs\/workflow_job\/\d+$/) } },
    ]));
    expect(since(before)).toHaveLength(2);

    const mid = received.length;
    expect((await api('POST', `/api/v2/workflow_approvals/${approval}/approve/`, {})).status).toBe(204);
    await pass();
    expect((await api('GET', `/api/v2/workflow_jobs/${wj}/`)).json.status).toBe('successful');
    await send();
    // The template's own approved body, rendered against the approval's context.
    expect(since(mid)).toEqual(expect.arrayContaining([
      { path: '/approvals', body: { text: 'approved flow gate is approved' } },
      { path: '/success', body: expect.objectContaining({ id: wj, status: 'successful', type: 'workflow_job', url: `/api/v2/workflow_jobs/${wj}/` }) },
    ]));
    expect(since(mid)).toHaveLength(2);
    const notes = (await api('GET', `/api/v2/workflow_jobs/${wj}/notifications/`)).json.results;
    expect(notes.map((n: any) => n.status)).toEqual(['successful', 'successful']);
  });

  it('sends denied and error when the approval is denied', async () => {
    const wfjt = await gatedTemplate('denied flow', 0);
    const { wj, approval } = await launch(wfjt);
    await send();
    const mid = received.length;
    expect((await api('POST', `/api/v2/workflow_approvals/${approval}/deny/`, {})).status).toBe(204);
    await pass();
    expect((await api('GET', `/api/v2/workflow_jobs/${wj}/`)).json.status).toBe('failed');
    await send();
    expect(since(mid)).toEqual(expect.arrayContaining([
      { path: '/approvals', body: { body: expect.stringMatching(/^The approval node "denied flow gate" was denied\. /) } },
      { path: '/error', body: expect.objectContaining({ id: wj, status: 'failed', type: 'workflow_job' }) },
    ]));
    expect(since(mid)).toHaveLength(2);
  });

  it('sends timed out when an approval expires', async () => {
    const wfjt = await gatedTemplate('expiring flow', 1);
    const { wj } = await launch(wfjt);
    await send();
    const mid = received.length;
    await new Promise((r) => setTimeout(r, 1300));
    await pass();
    await pass();
    expect((await api('GET', `/api/v2/workflow_jobs/${wj}/`)).json.status).toBe('failed');
    await send();
    expect(since(mid)).toEqual(expect.arrayContaining([
      { path: '/approvals', body: { body: expect.stringMatching(/^The approval node "expiring flow gate" has timed out\. /) } },
      { path: '/error', body: expect.objectContaining({ id: wj, status: 'failed' }) },
    ]));
  });

  it('refuses an approval message naming a job field, and attaching by who does not administer the notification template', async () => {
    const bad = await api('POST', '/api/v2/notification_templates/', { name: 'bad approval msg', organization: 1, notification_type: 'webhook',
      notification_configuration: { url: `${hookUrl}/x`, http_method: 'POST', headers: {} },
      messages: { workflow_approval: { running: { message: '{{ job.name }} waits' } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.messages.join(' ')).toMatch(/Field 'job.name' unavailable/);

    // A workflow admin who is not an admin of the notification template cannot attach it (AWX's NotificationAttachMixin).
    const wfjt = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'attach attack', organization: 1 })).json.id;
    const user = (await api('POST', '/api/v2/organizations/1/users/', { username: 'wfadmin', password: 'wfadmin-pass' })).json;
    const roles = (await api('GET', `/api/v2/workflow_job_templates/${wfjt}/object_roles/`)).json.results;
    await api('POST', `/api/v2/roles/${roles.find((r: any) => r.name === 'Admin').id}/users/`, { id: user.id });
    const as = basicAuth('wfadmin', 'wfadmin-pass');
    expect((await api('POST', `/api/v2/workflow_job_templates/${wfjt}/notification_templates_success/`, { id: nts.success }, as)).status).toBe(403);
    // Nor a notification admin who does not administer the workflow job template.
    const other = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'not theirs', organization: 1 })).json.id;
    expect((await api('POST', `/api/v2/workflow_job_templates/${other}/notification_templates_success/`, { id: nts.success }, as)).status).toBe(403);
    expect((await api('GET', `/api/v2/workflow_job_templates/${wfjt}/notification_templates_success/`)).json.count).toBe(0);
  });
});
