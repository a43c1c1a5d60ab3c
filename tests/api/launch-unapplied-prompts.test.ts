import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * Issue #15: launch prompts a template asks for but Playstream cannot apply (labels,
 * instance groups, slicing) are refused by name (the execution environment prompt is applied:
 * execution-environments.test.ts), where they were
 * accepted and silently dropped. Not asked for, they stay AWX's `ignored_fields`.
 */
let env: TestEnv;
let url: string;
let jt: number;
const api = (method: string, path: string, body?: unknown) => apiRequest(url, method, path, body, basicAuth('admin', 'admin-password'));
const jobCount = async () => (await env.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'job'`)).rows[0].n;

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  jt = (await env.pool.query(`SELECT id FROM job_templates WHERE name = 'Demo Job Template'`)).rows[0].id;
});

describe('launch prompts Playstream cannot apply', () => {
  it('are a 400 naming each when the template asks for them, launching nothing', async () => {
    await env.pool.query(`UPDATE job_templates SET ask_labels_on_launch = true, ask_instance_groups_on_launch = true,
      ask_execution_environment_on_launch = true WHERE id = $1`, [jt]);
    const before = await jobCount();
    const res = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { labels: [1], instance_groups: [1] });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      labels: ['Playstream does not support labels at launch.'], instance_groups: ['Playstream does not support instance_groups at launch.'] });
    expect(await jobCount()).toBe(before);
  });

  it('values that ask for nothing launch', async () => {
    const res = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { labels: [], instance_groups: [], execution_environment: null });
    expect(res.status, res.text).toBe(201);
    expect(res.json.ignored_fields).toEqual({});
  });

  it('not asked for, they are reported as ignored_fields, as AWX does', async () => {
    await env.pool.query('UPDATE job_templates SET ask_labels_on_launch = false WHERE id = $1', [jt]);
    const res = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { labels: [1] });
    expect(res.status, res.text).toBe(201);
    expect(res.json.ignored_fields).toEqual({ labels: [1] });
  });
});
