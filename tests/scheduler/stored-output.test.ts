import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { launchJobTemplate } from '../../src/scheduler/launch.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, createProjectAndInventory, insertJobTemplate, orgId, startJobStack, storedStdout, waitFor, waitForProcessed as waitForProcessedIn } from './support.js';

/**
 * Jobs end to end through the real receiver: dispatcher (child process) → ansible-runner →
 * Redis → receiver (in this process) → job_events, the rendezvous, and the notifications
 * the dispatcher sends to local HTTP and SMTP sinks started here.
 */
const PLAYBOOKS = {
  'ok.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg="hello"\n`,
  'cred.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.uri:\n        url: "{{ out_url }}"\n        method: POST\n        body_format: json\n        body: {seen: "{{ secret_token }}|{{ lookup('env', 'MY_TOKEN') }}"}\n    - ansible.builtin.debug: msg="token is {{ secret_token }}"\n    - ansible.builtin.shell: echo "env says $MY_TOKEN"\n      register: echoed\n    - ansible.builtin.debug: msg="{{ echoed.stdout }}"\n`,
};

let t: TestEnv;
let stack: Awaited<ReturnType<typeof startJobStack>> | undefined;
let org: number;
let project: number;
let inventory: number;
const http1: { url: string; requests: { path: string; headers: http.IncomingHttpHeaders; body: any }[]; server?: http.Server } = { url: '', requests: [] };
const smtp: { port: number; messages: { from: string; to: string[]; data: string }[]; server?: net.Server } = { port: 0, messages: [] };

function template(name: string, playbook: string, extra: Record<string, unknown> = {}): Promise<number> {
  return insertJobTemplate(t.pool, { name, organization_id: org, inventory_id: inventory, project_id: project, playbook, ...extra });
}

async function notificationTemplate(type: string, configuration: Record<string, unknown>, attach: { jt: number; on: string[] }): Promise<number> {
  const id = (await t.pool.query(`INSERT INTO notification_templates (name, organization_id, notification_type, notification_configuration)
    VALUES ($1, $2, $3, $4) RETURNING id`, [`${type}-${attach.jt}`, org, type, configuration])).rows[0].id;
  for (const on of attach.on) {
    await t.pool.query(`INSERT INTO notification_template_attachments (notification_template_id, resource_type, resource_id, on_event)
      VALUES ($1, 'job_template', $2, $3)`, [id, attach.jt, on]);
  }
  return id;
}

const waitForProcessed = (jobId: number) => waitForProcessedIn(t.pool, jobId);


/** Just enough SMTP (RFC 5321's happy path, no TLS) for nodemailer to hand over one message per connection. */
function startSmtpSink(): Promise<void> {
  smtp.server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let msg = { from: '', to: [] as string[], data: '' };
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          msg.data = buf.slice(0, end);
          buf = buf.slice(end + 5);
          inData = false;
          smtp.messages.push(msg);
          msg = { from: '', to: [], data: '' };
          socket.write('250 queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 sink\r\n');
        else if (verb === 'MAIL') { msg.from = line.slice(10); socket.write('250 ok\r\n'); }
        else if (verb === 'RCPT') { msg.to.push(line.slice(8)); socket.write('250 ok\r\n'); }
        else if (verb === 'DATA') { inData = true; socket.write('354 go ahead\r\n'); }
        else if (verb === 'QUIT') { socket.end('221 bye\r\n'); return; }
        else socket.write('250 ok\r\n');
      }
    });
  });
  return new Promise((resolve) => smtp.server!.listen(0, '127.0.0.1', () => {
    smtp.port = (smtp.server!.address() as net.AddressInfo).port;
    resolve();
  }));
}

function startHttpSink(): Promise<void> {
  http1.server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => {
      http1.requests.push({ path: req.url ?? '', headers: req.headers, body: body ? JSON.parse(body) : null });
      res.writeHead(req.url === '/broken' ? 500 : 200).end('ok');
    });
  });
  return new Promise((resolve) => http1.server!.listen(0, '127.0.0.1', () => {
    http1.url = `http://127.0.0.1:${(http1.server!.address() as net.AddressInfo).port}`;
    resolve();
  }));
}

/**
 * A runner that crashes the way a broken ansible-runner install does (a Python traceback,
 * no status written) for a job whose extra vars carry `crash_runner`; every other job
 * gets the real ansible-runner. It is first on the dispatcher's PATH only, outside the data
 * dir, and shown to the job sandbox through AWX_ISOLATION_SHOW_PATHS (a directory on the
 * dispatcher's PATH that the sandbox shows stays first on the job's PATH).
 */
let faultBin = '';
async function crashingRunnerDir(): Promise<string> {
  const real = execFileSync('sh', ['-c', 'command -v ansible-runner'], { encoding: 'utf8' }).trim();
  const dir = faultBin = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-fault-bin-'));
  await t.pool.query(`INSERT INTO api_settings (key, value) VALUES ('AWX_ISOLATION_SHOW_PATHS', $1)`, [JSON.stringify([dir])]);
  fs.writeFileSync(path.join(dir, 'ansible-runner'), `#!/bin/sh
if grep -q crash_runner "$3/env/extravars" 2>/dev/null; then
  exec python3 -c 'print("runner starting", flush=True); raise RuntimeError("injected runner crash")'
fi
exec ${real} "$@"
`, { mode: 0o755 });
  return dir;
}

beforeAll(async () => {
  t = await useTestEnv({ PLAYSTREAM_DISPATCHER_WORKERS: '4' });
  await Promise.all([startHttpSink(), startSmtpSink()]);
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, PLAYBOOKS));
  stack = await startJobStack(t, project, { ...t.env, PATH: `${await crashingRunnerDir()}:${process.env.PATH}` });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  http1.server?.close();
  smtp.server?.close();
  if (faultBin) fs.rmSync(faultBin, { recursive: true, force: true });
});

describe('jobs through the real receiver', () => {
  it('credentials reach the playbook and appear in no stored event, stdout or job field', async () => {
    const secret = 'S3cr3t-' + Math.random().toString(36).slice(2);
    const type = (await t.pool.query(`INSERT INTO credential_types (name, kind, inputs, injectors) VALUES ('Token', 'cloud',
      '{"fields": [{"id": "token", "label": "Token", "type": "string", "secret": true}]}',
      '{"env": {"MY_TOKEN": "{{ token }}"}, "extra_vars": {"secret_token": "{{ token }}"}}') RETURNING id`)).rows[0].id;
    const cred = await insertCredential(t.pool, t.secrets, { name: 'tok', organization_id: org, credential_type_id: type, inputs: { token: secret } });
    // The job reports what it saw to the HTTP sink: the sandbox shows it nothing of this test's data dir to write into.
    const jt = await template('cred', 'cred.yml', { extra_vars: JSON.stringify({ out_url: `${http1.url}/cred` }) });
    await t.pool.query('INSERT INTO job_template_credentials VALUES ($1, $2)', [jt, cred]);

    const job = await waitForProcessed(await launchJobTemplate(t.pool, jt));
    expect(job.status, job.result_traceback).toBe('successful');
    expect(http1.requests.filter((r) => r.path === '/cred').map((r) => r.body)).toEqual([{ seen: `${secret}|${secret}` }]);

    const { rows: events } = await t.pool.query(
      'SELECT * FROM job_events WHERE job_id = $1 AND job_created = $2 ORDER BY counter', [job.id, job.created_iso]);
    expect(events.length).toBe(job.emitted_events);
    expect(events.map((e) => e.counter)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    const stdout = await storedStdout(t.pool, job.id, job.created_iso);
    expect(stdout).toContain('token is **********');
    expect(stdout).toContain('env says **********');
    expect(JSON.stringify(events)).not.toContain(secret);
    expect(stdout).not.toContain(secret);
    const { rows: [stored] } = await t.pool.query('SELECT * FROM unified_jobs WHERE id = $1', [job.id]);
    expect(JSON.stringify(stored)).not.toContain(secret);
    const { rows: summaries } = await t.pool.query('SELECT host_name, ok, changed FROM job_host_summaries WHERE job_id = $1', [job.id]);
    expect(JSON.stringify(summaries)).not.toContain(secret);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM dead_letters')).rows[0].n).toBe(0);
    // The private data dir (with the injected credential files) is removed after the run.
    expect(fs.existsSync(path.join(t.dataDir, 'jobs', String(job.id)))).toBe(false);
  }, 90_000);

  it('a successful job has all its events stored, event_processing_finished and host_status_counts', async () => {
    const job = await waitForProcessed(await launchJobTemplate(t.pool, await template('ok', 'ok.yml')));
    expect(job.status).toBe('successful');
    expect(job.stream_complete).toBe(true);
    expect(job.host_status_counts).toEqual({ ok: 1 });
    const { rows: [{ n }] } = await t.pool.query('SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND job_created = $2',
      [job.id, job.created_iso]);
    expect(n).toBe(job.emitted_events);
    expect(n).toBeGreaterThan(3);
    expect(await storedStdout(t.pool, job.id, job.created_iso)).toContain('"msg": "hello"');
    const { rows: hosts } = await t.pool.query('SELECT host_name, ok, failures, dark FROM job_host_summaries WHERE job_id = $1', [job.id]);
    expect(hosts).toEqual([{ host_name: 'localhost', ok: 1, failures: 0, dark: 0 }]);
  }, 90_000);

  it('sends started and success notifications once each by webhook, Slack and email, and stores them as successful', async () => {
    const jt = await template('notified', 'ok.yml');
    const hook = await notificationTemplate('webhook', { url: `${http1.url}/hook`, http_method: 'POST', headers: { 'X-Playstream-Test': 'yes' } },
      { jt, on: ['started', 'success', 'error'] });
    const slack = await notificationTemplate('slack', { url: `${http1.url}/slack`, channels: ['#ops'] }, { jt, on: ['success'] });
    const email = await notificationTemplate('email', { host: '127.0.0.1', port: smtp.port, sender: 'playstream@localhost',
      recipients: ['ops@localhost'], use_tls: false, use_ssl: false }, { jt, on: ['success'] });

    const job = await waitForProcessed(await launchJobTemplate(t.pool, jt));
    expect(job.status).toBe('successful');
    const sent = await waitFor(async () => {
      const { rows } = await t.pool.query('SELECT * FROM notifications WHERE unified_job_id = $1 ORDER BY id', [job.id]);
      return rows.length === 4 && rows.every((r) => r.status !== 'pending') ? rows : null;
    }, 30_000, 'four notifications sent');
    expect(sent.map((n) => [n.notification_template_id, n.status, n.notifications_sent, n.error])).toEqual(expect.arrayContaining([
      [hook, 'successful', 1, ''], [hook, 'successful', 1, ''], [slack, 'successful', 1, ''], [email, 'successful', 1, '']]));
    // One more sender period: nothing is sent twice.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await t.pool.query('SELECT count(*)::int AS n FROM notifications WHERE unified_job_id = $1', [job.id])).rows[0].n).toBe(4);

    const hooks = http1.requests.filter((r) => r.path === '/hook' && r.body.id === job.id);
    expect(hooks.map((r) => r.body.status).sort()).toEqual(['running', 'successful']);
    expect(hooks.every((r) => r.headers['x-playstream-test'] === 'yes')).toBe(true);
    expect(hooks.find((r) => r.body.status === 'successful')!.body).toMatchObject({ name: 'notified', type: 'job',
      host_status_counts: { ok: 1 }, url: `/api/v2/jobs/${job.id}/` });
    const slacks = http1.requests.filter((r) => r.path === '/slack');
    expect(slacks).toHaveLength(1);
    expect(slacks[0].body).toMatchObject({ channel: '#ops' });
    expect(slacks[0].body.text).toContain(`#${job.id}`);
    expect(slacks[0].body.text).toContain('successful');
    const mails = smtp.messages.filter((m) => m.data.includes(`#${job.id}`));
    expect(mails).toHaveLength(1);
    expect(mails[0].to).toEqual(['<ops@localhost>']);
    expect(mails[0].data).toMatch(/^Subject: .*successful/m);
  }, 90_000);

  it('a runner crash ends the job in error with the traceback, and the error notification is sent', async () => {
    const jt = await template('crash', 'ok.yml', { extra_vars: JSON.stringify({ crash_runner: true }) });
    const hook = await notificationTemplate('webhook', { url: `${http1.url}/hook` }, { jt, on: ['success', 'error'] });
    const job = await waitForProcessed(await launchJobTemplate(t.pool, jt));
    expect(job.status).toBe('error');
    expect(job.failed).toBe(true);
    expect(job.job_explanation).toMatch(/^ansible-runner exited without a status \(rc 1/);
    expect(job.result_traceback).toContain('Traceback (most recent call last)');
    expect(job.result_traceback).toContain('RuntimeError: injected runner crash');
    // What it printed on stdout before the traceback is a verbose event of the job (runner-stream.ts), not traceback text.
    expect(await storedStdout(t.pool, job.id, job.created_iso)).toContain('runner starting');
    expect(fs.existsSync(path.join(t.dataDir, 'jobs', String(job.id)))).toBe(false);
    const [n] = await waitFor(async () => {
      const { rows } = await t.pool.query(`SELECT * FROM notifications WHERE unified_job_id = $1 AND status <> 'pending'`, [job.id]);
      return rows.length ? rows : null;
    }, 30_000, 'the error notification');
    expect(n).toMatchObject({ notification_template_id: hook, status: 'successful' });
    expect(http1.requests.filter((r) => r.path === '/hook' && r.body.id === job.id).map((r) => r.body.status)).toEqual(['error']);
  }, 90_000);

  it('a webhook that fails is retried with backoff and the failure is stored', async () => {
    const jt = await template('broken-hook', 'ok.yml');
    await notificationTemplate('webhook', { url: `${http1.url}/broken` }, { jt, on: ['success'] });
    const job = await waitForProcessed(await launchJobTemplate(t.pool, jt));
    expect(job.status).toBe('successful');
    const n = await waitFor(async () => {
      const { rows: [r] } = await t.pool.query('SELECT * FROM notifications WHERE unified_job_id = $1 AND attempts > 0', [job.id]);
      return r;
    }, 30_000, 'a first attempt');
    expect(n).toMatchObject({ status: 'pending', attempts: 1, notifications_sent: 0, error: 'webhook answered HTTP 500' });
    expect(new Date(n.next_attempt).getTime() - new Date(n.modified).getTime()).toBe(10_000);
  }, 90_000);
});
