import { beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { finalStatusSaved } from '../../src/pipeline/rendezvous.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { createJob, jobStream, push, waitFor } from './support.js';
import { afterAll } from 'vitest';

let env: TestEnv;
let receiver: ReceiverHandle;

beforeAll(async () => {
  env = await useTestEnv();
  receiver = await startReceiver({ config: env.config, pool: env.pool, redis: env.redis, workers: 3 });
});
afterAll(async () => { await receiver?.close(); });

/** A job with one success and one error template attached (job template and organization levels). */
async function jobWithTemplates() {
  const jt = await env.pool.query(`INSERT INTO job_templates (name) VALUES ($1) RETURNING id`, [`jt-${Math.random()}`]);
  const job = await createJob(env.pool, 'job', { unified_job_template_id: jt.rows[0].id });
  await env.pool.query(`UPDATE unified_jobs SET status = 'running', started = now() WHERE id = $1`, [job.id]);
  const nt = async (name: string) => (await env.pool.query(
    `INSERT INTO notification_templates (name, organization_id, notification_type) VALUES ($1, $2, 'webhook') RETURNING id`, [name, job.orgId])).rows[0].id;
  const ok = await nt(`ok-${job.id}`);
  const bad = await nt(`bad-${job.id}`);
  await env.pool.query(`INSERT INTO notification_template_attachments VALUES ($1, 'job_template', $2, 'success'), ($3, 'organization', $4, 'error'),
    ($1, 'organization', $4, 'success')`, [ok, jt.rows[0].id, bad, job.orgId]);
  return { ...job, ok, bad };
}

async function saveFinal(jobId: number, status: string) {
  await withTransaction(env.pool, async (c) => {
    await c.query(`UPDATE unified_jobs SET status = $2, finished = now(), failed = $2 <> 'successful' WHERE id = $1`, [jobId, status]);
    await finalStatusSaved(c, jobId);
  });
}

async function notifications(jobId: number) {
  return (await env.pool.query('SELECT notification_template_id, status FROM notifications WHERE unified_job_id = $1', [jobId])).rows;
}

async function streamAndWait(jobId: number) {
  await push(env.redis, redisKeys(env.config).callbackQueue, jobStream('job', jobId));
  await waitFor(async () => (await env.pool.query('SELECT stream_complete FROM unified_jobs WHERE id = $1', [jobId])).rows[0].stream_complete, 20_000, 'stream');
}

describe('notification rendezvous', () => {
  it('sends once when the final status is saved after the wrapup event', async () => {
    const job = await jobWithTemplates();
    await streamAndWait(job.id);
    expect(await notifications(job.id)).toEqual([]);
    await saveFinal(job.id, 'successful');
    expect(await notifications(job.id)).toEqual([{ notification_template_id: job.ok, status: 'pending' }]);
    await saveFinal(job.id, 'successful');
    expect(await notifications(job.id)).toHaveLength(1);
    const uj = (await env.pool.query('SELECT event_processing_finished FROM unified_jobs WHERE id = $1', [job.id])).rows[0];
    expect(uj.event_processing_finished).toBe(true);
  });

  it('sends once when the wrapup event is processed after the final status', async () => {
    const job = await jobWithTemplates();
    await saveFinal(job.id, 'failed');
    expect(await notifications(job.id)).toEqual([]);
    await streamAndWait(job.id);
    await waitFor(async () => (await notifications(job.id)).length > 0, 5000, 'notifications');
    expect(await notifications(job.id)).toEqual([{ notification_template_id: job.bad, status: 'pending' }]);
    const uj = (await env.pool.query('SELECT event_processing_finished FROM unified_jobs WHERE id = $1', [job.id])).rows[0];
    expect(uj.event_processing_finished).toBe(true);
  });

  it('sends exactly once when both triggers race', async () => {
    const jobs = await Promise.all(Array.from({ length: 8 }, () => jobWithTemplates()));
    await Promise.all(jobs.map(async (job, i) => {
      await Promise.all([streamAndWait(job.id), (async () => {
        await new Promise((r) => setTimeout(r, i * 3));
        await saveFinal(job.id, 'successful');
      })()]);
    }));
    for (const job of jobs) {
      await waitFor(async () => (await notifications(job.id)).length > 0, 5000, 'notifications');
      expect(await notifications(job.id)).toEqual([{ notification_template_id: job.ok, status: 'pending' }]);
      const uj = (await env.pool.query('SELECT event_processing_finished FROM unified_jobs WHERE id = $1', [job.id])).rows[0];
      expect(uj.event_processing_finished).toBe(true);
    }
  });

  it('notifies a job that never ran on its status change alone', async () => {
    const job = await jobWithTemplates();
    await env.pool.query('UPDATE unified_jobs SET started = NULL WHERE id = $1', [job.id]);
    await saveFinal(job.id, 'error');
    expect(await notifications(job.id)).toEqual([{ notification_template_id: job.bad, status: 'pending' }]);
  });
});
