import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * GitHub and GitLab webhooks on workflow job templates (api/routes/webhooks.ts, shared with
 * job templates): the template's key proves a delivery, which launches a workflow job once
 * with the event as AWX's extra vars; anything unproven launches nothing. The webhook
 * credential (status reporting) and Bitbucket Data Center are refused, naming the field.
 */
let t: TestEnv;
let url: string;
let api: ApiCall;
let wfjt: number;

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  wfjt = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'hooked', organization: 1 })).json.id;
});

async function deliver(service: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${url}/api/v2/workflow_job_templates/${wfjt}/${service}/`, { method: 'POST', body,
    headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}
const hookJobs = async (guid: string) => (await t.pool.query(
  `SELECT id, kind, launch_type, webhook_service, extra_vars FROM unified_jobs WHERE unified_job_template_id = $1 AND webhook_guid = $2`,
  [wfjt, guid])).rows;

describe('workflow job template webhooks', () => {
  it('refuses what it does not implement, keys a template that listens, and shows the key to admins only', async () => {
    const cred = await api('PATCH', `/api/v2/workflow_job_templates/${wfjt}/`, { webhook_service: 'github', webhook_credential: 1 });
    expect(cred.status).toBe(400);
    expect(cred.json.webhook_credential[0]).toContain('not supported');
    const bb = await api('PATCH', `/api/v2/workflow_job_templates/${wfjt}/`, { webhook_service: 'bitbucket_dc' });
    expect(bb.status).toBe(400);
    expect(bb.json.webhook_service).toBeDefined();
    // A key given by the client is never taken.
    const set = await api('PATCH', `/api/v2/workflow_job_templates/${wfjt}/`, { webhook_service: 'gitlab', webhook_key: 'chosen-by-me' });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ webhook_service: 'gitlab', webhook_credential: null });
    expect(set.json).not.toHaveProperty('webhook_key');
    expect(set.json.related.webhook_receiver).toBe(`/api/v2/workflow_job_templates/${wfjt}/gitlab/`);
    const key = (await api('GET', `/api/v2/workflow_job_templates/${wfjt}/webhook_key/`)).json.webhook_key;
    expect(key).toMatch(/^[A-Za-z0-9]{50}$/);

    const user = (await api('POST', '/api/v2/organizations/1/users/', { username: 'hookreader', password: 'hookreader-pass' })).json;
    const roles = (await api('GET', `/api/v2/workflow_job_templates/${wfjt}/object_roles/`)).json.results;
    await api('POST', `/api/v2/roles/${roles.find((r: any) => r.name === 'Execute').id}/users/`, { id: user.id });
    const as = basicAuth('hookreader', 'hookreader-pass');
    expect((await api('GET', `/api/v2/workflow_job_templates/${wfjt}/webhook_key/`, undefined, as)).status).toBe(403);
    expect((await api('POST', `/api/v2/workflow_job_templates/${wfjt}/webhook_key/`, {}, as)).status).toBe(403);
  });

  it('launches a workflow job on a GitLab delivery carrying the key, once, with the event as extra vars', async () => {
    const key = (await api('GET', `/api/v2/workflow_job_templates/${wfjt}/webhook_key/`)).json.webhook_key;
    const body = JSON.stringify({ checkout_sha: 'feed42', project: { id: 7, web_url: 'https://gitlab.example.com/o/r' } });
    const headers = { 'x-gitlab-event': 'Push Hook' };
    expect((await deliver('gitlab', body, headers)).status).toBe(403);
    expect((await deliver('gitlab', body, { ...headers, 'x-gitlab-token': 'wrong' })).status).toBe(403);
    expect((await deliver('github', body, { 'x-github-event': 'push', 'x-hub-signature': `sha1=${crypto.createHmac('sha1', key).update(body).digest('hex')}` })).status).toBe(403);
    const guid = crypto.createHash('sha1').update(body).digest('hex');
    expect(await hookJobs(guid)).toEqual([]);

    expect(await deliver('gitlab', body, { ...headers, 'x-gitlab-token': key })).toEqual({ status: 202, json: { message: 'Job queued.' } });
    const [job] = await hookJobs(guid);
    expect([job.kind, job.launch_type, job.webhook_service]).toEqual(['workflow_job', 'webhook', 'gitlab']);
    const vars = JSON.parse(job.extra_vars);
    expect([vars.awx_webhook_event_type, vars.awx_webhook_event_ref, vars.awx_webhook_status_api])
      .toEqual(['Push Hook', 'feed42', 'https://gitlab.example.com/api/v4/projects/7/statuses/feed42']);
    expect((await api('GET', `/api/v2/workflow_jobs/${job.id}/`)).json).toMatchObject({ webhook_service: 'gitlab', webhook_guid: guid, launch_type: 'webhook' });
    // The same delivery again launches nothing.
    expect((await deliver('gitlab', body, { ...headers, 'x-gitlab-token': key })).json).toEqual({ message: 'Webhook previously received, aborting.' });
    expect(await hookJobs(guid)).toHaveLength(1);
    // A rotated key: the old one proves nothing.
    const rotated = (await api('POST', `/api/v2/workflow_job_templates/${wfjt}/webhook_key/`, {})).json.webhook_key;
    expect(rotated).not.toBe(key);
    const other = JSON.stringify({ checkout_sha: 'beef' });
    expect((await deliver('gitlab', other, { ...headers, 'x-gitlab-token': key })).status).toBe(403);
  });
});
