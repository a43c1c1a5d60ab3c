import { beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/security/passwords.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/** Survey answers at launch (AWX: accepted with the survey on, whatever ask_variables says) and a job's `start` capability. */
let env: TestEnv;
let url: string;
let jt: number;
const admin = basicAuth('admin', 'admin-password');

function api(method: string, path: string, body?: unknown, headers: Record<string, string> = admin) {
  return apiRequest(url, method, path, body, headers);
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  jt = (await env.pool.query(`SELECT id FROM job_templates WHERE name = 'Demo Job Template'`)).rows[0].id;
  const spec = { name: 's', description: '', spec: [
    { variable: 'color', type: 'multiplechoice', choices: ['red', 'blue'], required: true, question_name: 'Color' },
    { variable: 'count', type: 'integer', min: 1, max: 5, required: false, default: 2, question_name: 'Count' },
  ] };
  await env.pool.query(`UPDATE job_templates SET survey_enabled = true, survey_spec = $2 WHERE id = $1`, [jt, JSON.stringify(spec)]);
});

describe('launch with a survey', () => {
  it('names the required answers on GET launch/', async () => {
    const res = await api('GET', `/api/v2/job_templates/${jt}/launch/`);
    expect(res.json.variables_needed_to_start).toEqual(['color']);
    expect(res.json.can_start_without_user_input).toBe(false);
  });

  it('accepts survey answers without ask_variables_on_launch, fills defaults, ignores other vars', async () => {
    const res = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { extra_vars: { color: 'blue', other: 1 } });
    expect(res.status).toBe(201);
    expect(res.json.ignored_fields).toEqual({ extra_vars: { other: 1 } });
    const { rows } = await env.pool.query('SELECT extra_vars FROM unified_jobs WHERE id = $1', [res.json.job]);
    expect(JSON.parse(rows[0].extra_vars)).toEqual({ color: 'blue', count: 2 });
  });

  it('rejects a missing required answer and an answer outside its question, launching nothing', async () => {
    const before = (await env.pool.query(`SELECT count(*)::int AS n FROM unified_jobs`)).rows[0].n;
    const missing = await api('POST', `/api/v2/job_templates/${jt}/launch/`, {});
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({ variables_needed_to_start: ["'color' value missing"] });
    const bad = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { extra_vars: { color: 'green', count: 9 } });
    expect(bad.status).toBe(400);
    expect(bad.json.variables_needed_to_start).toHaveLength(2);
    expect((await env.pool.query(`SELECT count(*)::int AS n FROM unified_jobs`)).rows[0].n).toBe(before);
  });
});

describe('job user_capabilities', () => {
  it('start follows execute on the job template', async () => {
    const launched = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { extra_vars: { color: 'red' } });
    const job = await api('GET', `/api/v2/jobs/${launched.json.job}/`);
    expect(job.json.summary_fields.user_capabilities.start).toBe(true);
    await env.pool.query(`INSERT INTO users (username, password) VALUES ('bob', $1)`, [await hashPassword('bob-password')]);
    const asBob = await api('GET', `/api/v2/jobs/${launched.json.job}/`, undefined, basicAuth('bob', 'bob-password'));
    expect([403, 404]).toContain(asBob.status);
  });
});
