import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * GitHub and GitLab webhooks on job templates (api/routes/webhooks.ts): a delivery signed
 * with (GitHub) or carrying (GitLab) the template's key launches it once, with the event
 * as AWX's extra vars; an unsigned, wrongly signed or replayed one launches nothing. Before,
 * webhook_service was accepted and dropped, and the receiver URLs answered 404.
 */
let t: TestEnv;
let url: string;
let jt: number;
let api: ApiCall;

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  jt = (await api('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).json.results[0].id;
});

/** POSTs a raw delivery with no user credentials, as a forge does. */
async function deliver(service: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${url}/api/v2/job_templates/${jt}/${service}/`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}
const webhookJobs = async (guid: string) => (await t.pool.query(
  `SELECT id, launch_type, webhook_service, extra_vars FROM unified_jobs WHERE unified_job_template_id = $1 AND webhook_guid = $2`, [jt, guid])).rows;

describe('webhooks', () => {
  it('refuses a webhook credential (status reporting) instead of dropping it, and keys a template that listens', async () => {
    const cred = await api('PATCH', `/api/v2/job_templates/${jt}/`, { webhook_service: 'github', webhook_credential: 1 });
    expect(cred.status).toBe(400);
    expect(cred.json.webhook_credential[0]).toContain('not supported');
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { webhook_service: 'bitbucket' })).status).toBe(400);
    const set = await api('PATCH', `/api/v2/job_templates/${jt}/`, { webhook_service: 'github' });
    expect(set.status).toBe(200);
    expect(set.json.webhook_service).toBe('github');
    expect(set.json).not.toHaveProperty('webhook_key');
    expect((await api('GET', `/api/v2/job_templates/${jt}/webhook_key/`)).json.webhook_key).toMatch(/^[A-Za-z0-9]{50}$/);
  });

  it('launches on a GitHub delivery signed with the key, once, with the event as extra vars', async () => {
    const key = (await api('GET', `/api/v2/job_templates/${jt}/webhook_key/`)).json.webhook_key;
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc123', repository: { full_name: 'o/r' } });
    const sign = (k: string) => `sha1=${crypto.createHmac('sha1', k).update(body).digest('hex')}`;
    const headers = { 'x-github-event': 'push', 'x-github-delivery': 'delivery-1' };
    expect((await deliver('github', body, headers)).status).toBe(403); // unsigned
    expect((await deliver('github', body, { ...headers, 'x-hub-signature': sign('not the key') })).status).toBe(403);
    expect((await deliver('github', body, { ...headers, 'x-hub-signature': `sha256=${sign(key).slice(5)}` })).status).toBe(403);
    expect((await deliver('gitlab', body, { 'x-gitlab-token': key })).status).toBe(403); // the template listens to GitHub
    expect(await webhookJobs('delivery-1')).toEqual([]);

    const ok = await deliver('github', body, { ...headers, 'x-hub-signature': sign(key) });
    expect(ok).toEqual({ status: 202, json: { message: 'Job queued.' } });
    const [job] = await webhookJobs('delivery-1');
    expect([job.launch_type, job.webhook_service]).toEqual(['webhook', 'github']);
    const vars = JSON.parse(job.extra_vars);
    expect([vars.awx_webhook_event_type, vars.awx_webhook_event_guid, vars.awx_webhook_event_ref]).toEqual(['push', 'delivery-1', 'abc123']);
    expect(vars.tower_webhook_payload.repository.full_name).toBe('o/r');

    const replay = await deliver('github', body, { ...headers, 'x-hub-signature': sign(key) });
    expect(replay).toEqual({ status: 202, json: { message: 'Webhook previously received, aborting.' } });
    expect(await webhookJobs('delivery-1')).toHaveLength(1);

    // A rotated key: the old one proves nothing any more.
    const rotated = (await api('POST', `/api/v2/job_templates/${jt}/webhook_key/`)).json.webhook_key;
    expect(rotated).not.toBe(key);
    expect((await deliver('github', body, { 'x-github-event': 'push', 'x-github-delivery': 'delivery-2', 'x-hub-signature': sign(key) })).status).toBe(403);
  });

  it('launches on a GitLab delivery carrying the key as its token', async () => {
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { webhook_service: 'gitlab' })).status).toBe(200);
    const key = (await api('GET', `/api/v2/job_templates/${jt}/webhook_key/`)).json.webhook_key;
    const body = JSON.stringify({ checkout_sha: 'def456', project: { id: 7, web_url: 'https://gitlab.example.com/g/p' } });
    const guid = crypto.createHash('sha1').update(body).digest('hex');
    expect((await deliver('gitlab', body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'wrong' })).status).toBe(403);
    // As long as the key in characters, longer in bytes: still a plain 403, not a failed comparison.
    expect((await deliver('gitlab', body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'é'.repeat(key.length) })).status).toBe(403);
    expect((await deliver('gitlab', body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': key })).status).toBe(202);
    const [job] = await webhookJobs(guid);
    const vars = JSON.parse(job.extra_vars);
    expect([vars.awx_webhook_event_type, vars.awx_webhook_event_ref, vars.awx_webhook_status_api])
      .toEqual(['Push Hook', 'def456', 'https://gitlab.example.com/api/v4/projects/7/statuses/def456']);
    // Turning webhooks off removes the key: nothing proves itself any more.
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { webhook_service: '' })).status).toBe(200);
    expect((await deliver('gitlab', body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': key })).status).toBe(403);
  });
});
