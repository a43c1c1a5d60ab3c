import { beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/redis-keys.js';
import { cancelUnifiedJob, submitUnifiedJob } from '../../src/scheduler/submit.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';

let env: TestEnv;
beforeAll(async () => { env = await useTestEnv(); });

describe('cancel of a job that has not started', () => {
  it('saves canceled through the state machine: one error notification, status published, finished once', async () => {
    const org = (await env.pool.query(`INSERT INTO organizations (name) VALUES ('o') RETURNING id`)).rows[0].id;
    const jt = (await env.pool.query(`INSERT INTO job_templates (name, organization_id) VALUES ('jt', $1) RETURNING id`, [org])).rows[0].id;
    const nt = (await env.pool.query(`INSERT INTO notification_templates (name, organization_id, notification_type)
      VALUES ('on error', $1, 'webhook') RETURNING id`, [org])).rows[0].id;
    await env.pool.query(`INSERT INTO notification_template_attachments VALUES ($1, 'job_template', $2, 'error')`, [nt, jt]);
    const jobId = await submitUnifiedJob(env.pool, { kind: 'job', name: 'jt', unified_job_template_id: jt, organization_id: org });

    const sub = env.redis.duplicate();
    const seen: unknown[] = [];
    await sub.subscribe(redisKeys(env.config).broadcastChannel);
    sub.on('message', (_c, m) => seen.push(JSON.parse(m)));
    try {
      const bus = { redis: env.redis, config: env.config };
      expect(await cancelUnifiedJob(env.pool, jobId, bus)).toBe(true);
      expect(await cancelUnifiedJob(env.pool, jobId, bus)).toBe(false);
      const { rows } = await env.pool.query('SELECT status, cancel_flag, finished FROM unified_jobs WHERE id = $1', [jobId]);
      expect(rows[0]).toMatchObject({ status: 'canceled', cancel_flag: true, finished: expect.any(Date) });
      const n = await env.pool.query('SELECT notification_template_id, status FROM notifications WHERE unified_job_id = $1', [jobId]);
      expect(n.rows).toEqual([{ notification_template_id: nt, status: 'pending' }]);
      const jt2 = await env.pool.query('SELECT last_job_id, status FROM job_templates WHERE id = $1', [jt]);
      expect(jt2.rows[0]).toEqual({ last_job_id: jobId, status: 'canceled' });
      await expect.poll(() => seen).toContainEqual(expect.objectContaining({
        group: 'jobs-status_changed', messages: [expect.objectContaining({ unified_job_id: jobId, status: 'canceled' })] }));
    } finally {
      sub.disconnect();
    }
  });
});
