import http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { streamStdout } from '../../src/pipeline/stdout-stream.js';
import { sendDueNotifications } from '../../src/scheduler/notifications.js';
import { launchProjectUpdate } from '../../src/scheduler/launch.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { createProjectAndInventory, orgId, runInProcess, waitFor } from '../scheduler/support.js';

/**
 * Issue #12, secrets stored or shown in clear. Each test is the attack of the issue: a
 * PATCHed credential password written to the activity stream as [old, new]; a custom
 * credential type's secret field that no regex recognizes; a survey password answer kept in
 * the job's extra_vars and launch_prompts and printed by the playbook; its default shown by
 * survey_spec; webhook headers stored and shown in clear. A secret must appear nowhere the
 * API, the activity stream, the job's events or its stdout show, nor in Postgres in clear.
 */
let t: TestEnv;
let url: string;
let ADMIN: Record<string, string>;
let READER: Record<string, string>;
let receiver: ReceiverHandle;
let org: number;
let project: number;
let inventory: number;

const PLAYBOOKS = {
  'survey.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n`
    + `    - ansible.builtin.debug: msg="the password is {{ db_password }}"\n`
    // The answer is compared by its SHA-1, so the playbook's own text never holds it.
    + `    - ansible.builtin.assert:\n        that: (db_password | hash('sha1')) == '3f70d4f04e94462bdcb98b08499613b3af27af84'\n`,
};

function api(method: string, path: string, body?: unknown, headers = ADMIN) {
  return apiRequest(url, method, path, body, headers);
}

/** Everything the activity stream holds, as the API shows it and as Postgres stores it. */
async function activityText(): Promise<string> {
  const listed = await api('GET', '/api/v2/activity_stream/?page_size=200');
  expect(listed.status).toBe(200);
  const { rows } = await t.pool.query('SELECT changes::text AS c FROM activity_stream');
  return listed.text + rows.map((r) => r.c).join('\n');
}

beforeAll(async () => {
  t = await useTestEnv();
  await seedFirstStart(t.pool, { dataDir: t.dataDir, adminPassword: 'admin-password' });
  await createUser(t.pool, 'reader', 'reader-pw');
  ({ url } = await startTestWeb(t));
  const bearer = async (username: string, password: string) => {
    const created = await apiRequest(url, 'POST', '/api/v2/tokens/', {}, basicAuth(username, password));
    expect(created.status).toBe(201);
    return { authorization: `Bearer ${created.json.token}` };
  };
  [ADMIN, READER] = [await bearer('admin', 'admin-password'), await bearer('reader', 'reader-pw')];
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, PLAYBOOKS));
  receiver = await startReceiver({ config: t.config, pool: t.pool, redis: t.redis, workers: 1 });
  const update = await runInProcess(t, await launchProjectUpdate(t.pool, project));
  expect(update.status, update.job_explanation + update.result_traceback).toBe('successful');
}, 120_000);

afterAll(async () => {
  await receiver?.close();
});

describe('credential secrets stay out of the activity stream', () => {
  test('a rotated machine password is absent from the activity stream (create, update, delete)', async () => {
    const machine = (await t.pool.query(`SELECT id FROM credential_types WHERE namespace = 'ssh'`)).rows[0].id;
    const created = await api('POST', '/api/v2/credentials/', { name: 'rotated', organization: org, credential_type: machine,
      inputs: { username: 'deploy', password: 'first-Passw0rd-1', ssh_key_unlock: 'unlock-Phrase-1' } });
    expect(created.status).toBe(201);
    expect(created.json.inputs.password).toBe('$encrypted$');
    const patched = await api('PATCH', `/api/v2/credentials/${created.json.id}/`,
      { inputs: { username: 'deploy', password: 'rotated-Passw0rd-2', ssh_key_unlock: '$encrypted$' } });
    expect(patched.status).toBe(200);
    expect((await api('DELETE', `/api/v2/credentials/${created.json.id}/`)).status).toBe(204);
    const text = await activityText();
    for (const secret of ['first-Passw0rd-1', 'rotated-Passw0rd-2', 'unlock-Phrase-1', '$encrypted$AESGCM$']) expect(text).not.toContain(secret);
    // The change is still recorded, with the secret masked.
    const { rows } = await t.pool.query(`SELECT changes FROM activity_stream WHERE object1 = 'credential' AND object1_id = $1 AND operation = 'update'`,
      [created.json.id]);
    expect(rows[0].changes.inputs[1]).toMatchObject({ username: 'deploy', password: '$encrypted$' });
  });

  test('a custom credential type\'s secret field is masked whatever its name', async () => {
    const type = await api('POST', '/api/v2/credential_types/', { name: 'Vendor API', kind: 'cloud',
      inputs: { fields: [{ id: 'endpoint', type: 'string', label: 'Endpoint' }, { id: 'pin', type: 'string', label: 'PIN', secret: true }] },
      injectors: { extra_vars: { vendor_pin: '{{ pin }}' } } });
    expect(type.status).toBe(201);
    const created = await api('POST', '/api/v2/credentials/', { name: 'vendor', organization: org, credential_type: type.json.id,
      inputs: { endpoint: 'https://vendor.example', pin: 'custom-Pin-8817' } });
    expect(created.status).toBe(201);
    expect(created.json.inputs).toEqual({ endpoint: 'https://vendor.example', pin: '$encrypted$' });
    expect((await api('PATCH', `/api/v2/credentials/${created.json.id}/`, { inputs: { endpoint: 'https://v2.example', pin: 'custom-Pin-9928' } })).status).toBe(200);
    expect((await api('DELETE', `/api/v2/credentials/${created.json.id}/`)).status).toBe(204);
    const text = await activityText();
    for (const secret of ['custom-Pin-8817', 'custom-Pin-9928', '$encrypted$AESGCM$']) expect(text).not.toContain(secret);
    expect(text).toContain('https://v2.example');
  });
});

describe('notification secrets', () => {
  test('webhook headers and password are encrypted at rest, masked in the API and the activity stream, and sent decrypted', async () => {
    const received: http.IncomingHttpHeaders[] = [];
    const sink = http.createServer((req, res) => { received.push(req.headers); req.resume(); req.on('end', () => res.end('ok')); });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const port = (sink.address() as { port: number }).port;
      const created = await api('POST', '/api/v2/notification_templates/', { name: 'hook', organization: org, notification_type: 'webhook',
        notification_configuration: { url: `http://127.0.0.1:${port}/hook`, http_method: 'POST', username: 'hooker',
          password: 'hook-Passw0rd-5', headers: { 'X-Api-Key': 'header-Secret-77', 'X-Test': 'plain' } } });
      expect(created.status).toBe(201);
      // A header named for a credential is a secret; others read back as written (AWX's view, which awx.awx compares).
      expect(created.json.notification_configuration.headers).toEqual({ 'X-Api-Key': '$encrypted$', 'X-Test': 'plain' });
      expect(created.json.notification_configuration.password).toBe('$encrypted$');
      // Sending the masked values back keeps the stored ones; a new header is encrypted too.
      const patched = await api('PATCH', `/api/v2/notification_templates/${created.json.id}/`, { notification_configuration: {
        ...created.json.notification_configuration, headers: { 'X-Api-Key': '$encrypted$', 'X-Auth-Token': 'header-Secret-88' } } });
      expect(patched.status).toBe(200);
      expect(patched.json.notification_configuration.headers).toEqual({ 'X-Api-Key': '$encrypted$', 'X-Auth-Token': '$encrypted$' });
      const stored = (await t.pool.query('SELECT notification_configuration::text AS c FROM notification_templates WHERE id = $1', [created.json.id])).rows[0].c;
      for (const secret of ['hook-Passw0rd-5', 'header-Secret-77', 'header-Secret-88']) expect(stored).not.toContain(secret);
      const text = await activityText();
      for (const secret of ['hook-Passw0rd-5', 'header-Secret-77', 'header-Secret-88', '$encrypted$AESGCM$']) expect(text).not.toContain(secret);

      await t.pool.query(`INSERT INTO notifications (notification_template_id, notification_type, subject, body) VALUES ($1, 'webhook', 'test', '{}')`,
        [created.json.id]);
      await sendDueNotifications(t.pool, t.secrets);
      expect(received).toHaveLength(1);
      expect(received[0]['x-api-key']).toBe('header-Secret-77');
      expect(received[0]['x-auth-token']).toBe('header-Secret-88');
      expect(received[0].authorization).toBe(`Basic ${Buffer.from('hooker:hook-Passw0rd-5').toString('base64')}`);
    } finally {
      await new Promise((r) => sink.close(r));
    }
  });

  test('email password and slack token are masked in the API and the activity stream', async () => {
    const email = await api('POST', '/api/v2/notification_templates/', { name: 'mail', organization: org, notification_type: 'email',
      notification_configuration: { host: 'smtp.example', port: 25, username: 'u', password: 'mail-Passw0rd-3', sender: 'a@example', recipients: ['b@example'] } });
    const slack = await api('POST', '/api/v2/notification_templates/', { name: 'slack', organization: org, notification_type: 'slack',
      notification_configuration: { token: 'xoxb-slack-Token-4', channels: ['#ops'] } });
    expect(email.json.notification_configuration.password).toBe('$encrypted$');
    expect(slack.json.notification_configuration.token).toBe('$encrypted$');
    expect((await api('DELETE', `/api/v2/notification_templates/${slack.json.id}/`)).status).toBe(204);
    const text = await activityText();
    for (const secret of ['mail-Passw0rd-3', 'xoxb-slack-Token-4']) expect(text).not.toContain(secret);
  });
});

describe('survey passwords', () => {
  let jt: number;

  beforeAll(async () => {
    const created = await api('POST', '/api/v2/job_templates/', { name: 'surveyed', project, inventory, playbook: 'survey.yml',
      survey_enabled: true, allow_simultaneous: true });
    expect(created.status, created.text).toBe(201);
    jt = created.json.id;
    const spec = { name: 's', description: '', spec: [
      { variable: 'db_password', type: 'password', required: true, default: 'default-Secret-13', question_name: 'DB password' },
      { variable: 'color', type: 'text', required: false, default: 'blue', question_name: 'Color' },
    ] };
    expect((await api('POST', `/api/v2/job_templates/${jt}/survey_spec/`, spec)).status).toBe(200);
    const read = (await api('GET', `/api/v2/job_templates/${jt}/object_roles/?role_field=read_role`)).json.results[0].id;
    const execute = (await api('GET', `/api/v2/job_templates/${jt}/object_roles/?role_field=execute_role`)).json.results[0].id;
    const reader = (await t.pool.query(`SELECT id FROM users WHERE username = 'reader'`)).rows[0].id;
    expect((await api('POST', `/api/v2/users/${reader}/roles/`, { id: read })).status).toBe(204);
    expect((await api('POST', `/api/v2/users/${reader}/roles/`, { id: execute })).status).toBe(204);
  });

  test('survey_spec shows a password default as $encrypted$ and stores it encrypted', async () => {
    for (const who of [READER, ADMIN]) {
      const spec = await api('GET', `/api/v2/job_templates/${jt}/survey_spec/`, undefined, who);
      expect(spec.status).toBe(200);
      expect(spec.json.spec[0].default).toBe('$encrypted$');
      expect(spec.json.spec[1].default).toBe('blue');
      expect(spec.text).not.toContain('default-Secret-13');
    }
    const stored = (await t.pool.query('SELECT survey_spec::text AS s FROM job_templates WHERE id = $1', [jt])).rows[0].s;
    expect(stored).not.toContain('default-Secret-13');
    // Posting the spec back as read keeps the stored default.
    const asRead = (await api('GET', `/api/v2/job_templates/${jt}/survey_spec/`)).json;
    expect((await api('POST', `/api/v2/job_templates/${jt}/survey_spec/`, asRead)).status).toBe(200);
    const launched = await api('POST', `/api/v2/job_templates/${jt}/launch/`, {}, READER);
    expect(launched.status, launched.text).toBe(201);
    const kept = await t.pool.query('SELECT extra_vars FROM unified_jobs WHERE id = $1', [launched.json.job]);
    expect(kept.rows[0].extra_vars).not.toContain('default-Secret-13');
    expect(kept.rows[0].extra_vars).not.toContain('"$encrypted$"');
    expect((await api('GET', `/api/v2/jobs/${launched.json.job}/`)).json.extra_vars).toContain('"db_password":"$encrypted$"');
    // Not run here: the next test runs its own job as the only one queued.
    await t.pool.query(`UPDATE unified_jobs SET status = 'canceled' WHERE id = $1`, [launched.json.job]);
  });

  test('a survey password answer is $encrypted$ in the API, encrypted in Postgres, and absent from stdout and events', async () => {
    const launched = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { extra_vars: { db_password: 'answer-Secret-42' } }, READER);
    expect(launched.status, launched.text).toBe(201);
    const jobId = launched.json.job;
    expect(launched.text).not.toContain('answer-Secret-42');
    for (const who of [READER, ADMIN]) {
      const job = await api('GET', `/api/v2/jobs/${jobId}/`, undefined, who);
      expect(JSON.parse(job.json.extra_vars)).toEqual({ db_password: '$encrypted$', color: 'blue' });
      const listed = await api('GET', `/api/v2/unified_jobs/?id=${jobId}`, undefined, who);
      expect(JSON.parse(listed.json.results[0].extra_vars)).toEqual({ db_password: '$encrypted$', color: 'blue' });
    }
    const { rows: [row] } = await t.pool.query('SELECT extra_vars, launch_prompts::text AS lp, survey_passwords FROM unified_jobs WHERE id = $1', [jobId]);
    expect(row.extra_vars).not.toContain('answer-Secret-42');
    expect(row.lp).not.toContain('answer-Secret-42');
    expect(row.survey_passwords).toEqual({ db_password: '$encrypted$' });

    // A relaunch carries the answer, still encrypted.
    const relaunched = await api('POST', `/api/v2/jobs/${jobId}/relaunch/`, {});
    expect(relaunched.status, relaunched.text).toBe(201);
    const { rows: [again] } = await t.pool.query('SELECT extra_vars, launch_prompts::text AS lp, survey_passwords FROM unified_jobs WHERE id = $1',
      [relaunched.json.job]);
    expect(again.extra_vars + again.lp).not.toContain('answer-Secret-42');
    expect(again.survey_passwords).toEqual({ db_password: '$encrypted$' });
    await t.pool.query(`UPDATE unified_jobs SET status = 'canceled' WHERE id = $1`, [relaunched.json.job]);

    const job = await runInProcess(t, jobId);
    const done = await waitFor(async () => {
      const { rows: [j] } = await t.pool.query(`SELECT *, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_iso
        FROM unified_jobs WHERE id = $1`, [jobId]);
      return j?.event_processing_finished ? j : null;
    }, 60_000, `job ${jobId} events processed`);
    let stdout = '';
    await streamStdout(t.pool, { table: 'job_events', jobId, jobCreated: done.created_iso, startLine: 0, endLine: null, stripAnsi: true },
      async (chunk) => { stdout += chunk; });
    const events = (await t.pool.query('SELECT stdout, event_data::text AS d FROM job_events WHERE job_id = $1', [jobId])).rows
      .map((e) => e.stdout + e.d).join('\n');
    expect(stdout).toContain('the password is');
    for (const text of [stdout, events, JSON.stringify(job)]) expect(text).not.toContain('answer-Secret-42');
    // Depends on the runner's wiring of surveySecrets (run-unified-job.ts): the playbook got
    // the decrypted answer (its assert passes), not the ciphertext.
    expect(job.status, `${job.job_explanation}\n${stdout}`).toBe('successful');
    const apiEvents = await api('GET', `/api/v2/jobs/${jobId}/job_events/?page_size=200`);
    expect(apiEvents.text).not.toContain('answer-Secret-42');
  }, 120_000);
});
