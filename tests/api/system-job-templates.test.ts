import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { runInProcess } from '../scheduler/support.js';

/**
 * Issue #15: AWX's management job templates exist (seeded by migration 0901 with their weekly
 * schedules), superusers launch them with `days`, and each kind really does its cleanup
 * (run by the real runner code: support.ts runInProcess). Variables a kind does not take
 * are a 400, never accepted and ignored.
 */
const ADMIN = basicAuth('admin', 'admin-password');
let t: TestEnv;
let url: string;
const templates: Record<string, number> = {};
const api = (method: string, path: string, body?: unknown, who = ADMIN) => apiRequest(url, method, path, body, who);

beforeAll(async () => {
  t = await useTestEnv();
  await seedFirstStart(t.pool, { dataDir: t.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(t));
  await createUser(t.pool, 'bob', 'bob-pw');
  const aud = await createUser(t.pool, 'aud', 'aud-pw');
  await t.pool.query('UPDATE users SET is_system_auditor = true WHERE id = $1', [aud]);
});

async function launch(jobType: string, extraVars?: unknown): Promise<Record<string, any>> {
  const res = await api('POST', `/api/v2/system_job_templates/${templates[jobType]}/launch/`, extraVars === undefined ? {} : { extra_vars: extraVars });
  expect(res.status, res.text).toBe(201);
  expect(res.json).toMatchObject({ system_job: res.json.id, type: 'system_job', job_type: jobType });
  const job = await runInProcess(t, res.json.id);
  expect(job.status, job.result_traceback).toBe('successful');
  return job;
}

describe('management job templates', () => {
  it('are seeded, each with AWX\'s weekly schedule', async () => {
    const list = await api('GET', '/api/v2/system_job_templates/?order_by=id');
    expect(list.json.results.map((r: any) => [r.name, r.job_type])).toEqual([
      ['Cleanup Job Details', 'cleanup_jobs'], ['Cleanup Activity Stream', 'cleanup_activitystream'],
      ['Cleanup Expired Sessions', 'cleanup_sessions'], ['Cleanup Expired OAuth 2 Tokens', 'cleanup_tokens']]);
    for (const r of list.json.results) templates[r.job_type] = r.id;
    const jobsSchedule = (await api('GET', `/api/v2/system_job_templates/${templates.cleanup_jobs}/schedules/`)).json.results;
    expect(jobsSchedule).toHaveLength(1);
    expect(jobsSchedule[0]).toMatchObject({ name: 'Cleanup Job Schedule', extra_data: { days: 120 }, enabled: true });
    expect(jobsSchedule[0].rrule).toMatch(/^DTSTART:\d{8}T\d{6}Z RRULE:FREQ=WEEKLY;INTERVAL=1$/);
    expect(Date.parse(jobsSchedule[0].next_run)).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  });

  it('only superusers launch them', async () => {
    for (const who of [basicAuth('bob', 'bob-pw'), basicAuth('aud', 'aud-pw')]) {
      const res = await api('POST', `/api/v2/system_job_templates/${templates.cleanup_jobs}/launch/`, { extra_vars: { days: 1 } }, who);
      expect([403, 404]).toContain(res.status);
    }
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'system_job'`)).rows[0].n).toBe(0);
  });

  it('cleanup_activitystream removes entries older than the `days` prompt', async () => {
    await t.pool.query(`INSERT INTO activity_stream ("timestamp", operation, object1) VALUES (now() - interval '40 days', 'create', 'old-entry'),
      (now() - interval '10 days', 'create', 'recent-entry')`);
    const job = await launch('cleanup_activitystream', { days: '30' });
    expect(JSON.parse(job.extra_vars)).toEqual({ days: '30' });
    const { rows } = await t.pool.query(`SELECT object1 FROM activity_stream WHERE object1 IN ('old-entry', 'recent-entry')`);
    expect(rows).toEqual([{ object1: 'recent-entry' }]);
    const jobs = await api('GET', `/api/v2/system_job_templates/${templates.cleanup_activitystream}/jobs/`);
    expect(jobs.json.results.map((r: any) => r.id)).toEqual([job.id]);
  });

  it('cleanup_sessions and cleanup_tokens remove only what has expired', async () => {
    const { rows: [admin] } = await t.pool.query(`SELECT id FROM users WHERE username = 'admin'`);
    await t.pool.query(`INSERT INTO api_sessions (key_hash, user_id, csrf_token, expires) VALUES ('expired-s', $1, 'c', now() - interval '1 hour'),
      ('live-s', $1, 'c', now() + interval '1 hour')`, [admin.id]);
    await t.pool.query(`INSERT INTO api_tokens (user_id, token_hash, expires) VALUES ($1, 'expired-t', now() - interval '1 hour'),
      ($1, 'live-t', now() + interval '1 hour')`, [admin.id]);
    await launch('cleanup_sessions');
    expect((await t.pool.query(`SELECT key_hash FROM api_sessions WHERE key_hash LIKE '%-s'`)).rows).toEqual([{ key_hash: 'live-s' }]);
    await launch('cleanup_tokens');
    expect((await t.pool.query(`SELECT token_hash FROM api_tokens WHERE token_hash LIKE '%-t'`)).rows).toEqual([{ token_hash: 'live-t' }]);
  });

  it('refuses variables a kind does not take, under extra_vars, launching nothing', async () => {
    const before = (await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs`)).rows[0].n;
    for (const [kind, vars, problem] of [
      ['cleanup_jobs', { days: -1 }, 'days must be a positive integer.'],
      ['cleanup_jobs', { days: '2.5' }, 'days must be a positive integer.'],
      ['cleanup_jobs', { days: true }, 'days must be a positive integer.'],
      ['cleanup_sessions', { days: 5 }, 'days does not apply to cleanup_sessions jobs.'],
      ['cleanup_jobs', { older_than: '1d' }, 'Variables older_than are not supported by Playstream\'s system jobs.'],
      ['cleanup_tokens', { limit: 'x' }, 'Variables limit are not allowed for system jobs.'],
    ] as const) {
      const res = await api('POST', `/api/v2/system_job_templates/${templates[kind]}/launch/`, { extra_vars: vars });
      expect(res.status, JSON.stringify(vars)).toBe(400);
      expect(res.json, JSON.stringify(vars)).toEqual({ extra_vars: [problem] });
    }
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs`)).rows[0].n).toBe(before);
  });

  it('schedules check their extra_data as the launch does, and take no other prompt', async () => {
    const path = `/api/v2/system_job_templates/${templates.cleanup_jobs}/schedules/`;
    const rrule = 'DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1';
    const bad = await api('POST', path, { name: 'bad days', rrule, extra_data: { days: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ extra_data: ['days must be a positive integer.'] });
    const limited = await api('POST', path, { name: 'limited', rrule, limit: 'x' });
    expect(limited.json).toEqual({ limit: ['Field is not allowed on launch.'] });
    const good = await api('POST', path, { name: 'daily cleanup', rrule, extra_data: { days: 7 } });
    expect(good.status, good.text).toBe(201);
    const patched = await api('PATCH', `/api/v2/schedules/${good.json.id}/`, { extra_data: { days: 7, granularity: '1w' } });
    expect(patched.status).toBe(400);
    expect(patched.json).toEqual({ extra_data: ['Variables granularity are not supported by Playstream\'s system jobs.'] });
  });
});
