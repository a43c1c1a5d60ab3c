import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { sendDueNotifications } from '../../src/scheduler/notifications.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * Issue #15: notification templates' `messages` were stored and never read. Now a message
 * and body per event are rendered against the job when sent; what Playstream cannot render
 * (Jinja blocks, filters, fields its jobs lack) is a 400 naming `messages` when saved.
 */
let env: TestEnv;
let url: string;
let org: number;
let hookUrl: string;
const received: { body: any }[] = [];
const hook = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => { received.push({ body: JSON.parse(body) }); res.end('ok'); });
});
const api = (method: string, path: string, body?: unknown) => apiRequest(url, method, path, body, basicAuth('admin', 'admin-password'));
const webhook = (name: string, messages: unknown) => api('POST', '/api/v2/notification_templates/', { name, organization: org,
  notification_type: 'webhook', notification_configuration: { url: hookUrl, http_method: 'POST', headers: {} }, messages });

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  org = (await env.pool.query(`SELECT id FROM organizations WHERE name = 'Default'`)).rows[0].id;
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
});
afterAll(() => new Promise<void>((r) => hook.close(() => r())));

describe('notification messages', () => {
  it('refuses what Playstream cannot render, naming messages, and stores nothing', async () => {
    for (const [messages, problem] of [
      [{ success: { message: '{% if job.failed %}bad{% endif %}' } }, /not \{% blocks/],
      [{ success: { message: '{{ job.name | upper }}' } }, /not \{\{ job.name \| upper \}\}/],
      [{ error: { message: '{{ job.custom_virtualenv }}' } }, /Field 'job.custom_virtualenv' is not provided by Playstream/],
      [{ error: { message: '{{ job.secret_key }}' } }, /Field 'job.secret_key' unavailable/],
      [{ started: { message: 'two\nlines' } }, /cannot contain newlines/],
      [{ finished: { message: 'x' } }, /Event 'finished' invalid/],
      [{ success: { body: '{{ job.name }}' } }, /should be a json dictionary/],
    ] as const) {
      const res = await webhook(`bad ${Math.random()}`, messages);
      expect(res.status, JSON.stringify(messages)).toBe(400);
      expect(Object.keys(res.json)).toEqual(['messages']);
      expect(res.json.messages.join(' ')).toMatch(problem);
    }
    expect((await env.pool.query(`SELECT count(*)::int AS n FROM notification_templates WHERE name LIKE 'bad %'`)).rows[0].n).toBe(0);
  });

  it('sends the event\'s own message and body, rendered against the job, and keeps them on the notification', async () => {
    const nt = await webhook('custom', {
      success: { message: '{{ job_friendly_name }} {{ job.name }} #{{ job.id }} {{ job.status }}',
        body: '{"text": "{{ job.summary_fields.inventory.name }} ok={{ job.host_status_counts.ok }} failed={{ job.failed }}", "id": {{ job.id }}}' },
      error: { message: 'failed: {{ job.name }}' },
      started: { message: '{{ job.name }} started, see {{ url }}' },
    });
    expect(nt.status, nt.text).toBe(201);
    const inv = (await env.pool.query(`SELECT id FROM inventories WHERE name = 'Demo Inventory'`)).rows[0].id;
    const { rows: [job] } = await env.pool.query(`INSERT INTO unified_jobs (kind, name, organization_id, status, inventory_id, host_status_counts, finished)
      VALUES ('job', 'Nightly', $1, 'successful', $2, '{"ok": 3}', now()) RETURNING id`, [org, inv]);
    // As the pipeline's rendezvous makes it when the job finishes.
    const { rows: [n] } = await env.pool.query(`INSERT INTO notifications (notification_template_id, unified_job_id, status, notification_type, subject, body)
      VALUES ($1, $2, 'pending', 'webhook', 'default subject', jsonb_build_object('id', $2::bigint, 'status', 'successful')) RETURNING id`, [nt.json.id, job.id]);
    await sendDueNotifications(env.pool, env.secrets);
    expect(received.at(-1)!.body).toEqual({ text: 'Demo Inventory ok=3 failed=False', id: job.id });
    const sent = await api('GET', `/api/v2/notifications/${n.id}/`);
    expect(sent.json).toMatchObject({ status: 'successful', subject: `Job Nightly #${job.id} successful` });
    // `url` is the job's page in the console under TOWER_URL_BASE, as AWX's get_ui_url.
    await api('PATCH', '/api/v2/settings/system/', { TOWER_URL_BASE: 'https://ps.example.com/' });
    const { rows: [started] } = await env.pool.query(`INSERT INTO notifications (notification_template_id, unified_job_id, status, notification_type, subject, body)
      VALUES ($1, $2, 'pending', 'webhook', 'default subject', jsonb_build_object('id', $2::bigint, 'status', 'running')) RETURNING id`, [nt.json.id, job.id]);
    await sendDueNotifications(env.pool, env.secrets);
    expect((await api('GET', `/api/v2/notifications/${started.id}/`)).json.subject).toBe(`Nightly started, see https://ps.example.com/jobs/job/${job.id}/output`);
  });
});
