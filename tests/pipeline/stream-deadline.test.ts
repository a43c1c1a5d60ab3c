import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { finalStatusSaved } from '../../src/pipeline/rendezvous.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { createJob, fixtureEvents, jobStream, push, waitFor } from './support.js';

/**
 * The bounded wait (stream-deadline.ts): a job whose producer announced more events than it
 * sent, or sent no EOF at all, still finishes processing once it has been final for
 * PLAYSTREAM_EVENT_WAIT_SECONDS, with the gap in events_missing and in the metrics; a late
 * event lowers the gap again.
 */
let env: TestEnv;
let receiver: ReceiverHandle;

beforeAll(async () => {
  env = await useTestEnv({ PLAYSTREAM_EVENT_WAIT_SECONDS: '1' });
  receiver = await startReceiver({ config: env.config, pool: env.pool, redis: env.redis, workers: 2 });
});
afterAll(async () => { await receiver?.close(); });

async function saveFinal(jobId: number, status: string) {
  await withTransaction(env.pool, async (c) => {
    await c.query(`UPDATE unified_jobs SET status = $2, started = now(), finished = now(), failed = $2 <> 'successful' WHERE id = $1`,
      [jobId, status]);
    await finalStatusSaved(c, jobId);
  });
}

async function job(id: number) {
  return (await env.pool.query('SELECT * FROM unified_jobs WHERE id = $1', [id])).rows[0];
}

async function stored(id: number): Promise<number> {
  return (await env.pool.query('SELECT count(*)::int AS n FROM job_events WHERE job_id = $1', [id])).rows[0].n;
}

describe('event processing always finishes', () => {
  it('an EOF announcing more events than were sent: finished after the wait, gap recorded and counted; a late event lowers it', async () => {
    const { id } = await createJob(env.pool);
    const all = jobStream('job', id);
    const eof = all.pop()!;
    const lost = all.splice(10, 2); // counters 11 and 12 never arrive
    await push(env.redis, redisKeys(env.config).callbackQueue, [...all, eof]);
    await waitFor(async () => (await stored(id)) === all.length, 20_000, 'events stored');
    await saveFinal(id, 'failed');
    expect((await job(id)).event_processing_finished).toBe(false);

    const finished = await waitFor(async () => { const j = await job(id); return j.event_processing_finished ? j : undefined; },
      20_000, 'the deadline to finish processing');
    expect(finished.events_missing).toBe(2);
    expect(finished.emitted_events).toBe(fixtureEvents().length);
    expect(finished.stream_complete).toBe(true);
    expect(receiver.metrics.eventsMissing.get()).toBeGreaterThanOrEqual(2);
    expect(receiver.metrics.streamsClosedIncomplete.get()).toBeGreaterThanOrEqual(1);

    await push(env.redis, redisKeys(env.config).callbackQueue, lost);
    await waitFor(async () => (await job(id)).events_missing === 0 ? true : undefined, 20_000, 'the late events to be counted');
    expect(await stored(id)).toBe(fixtureEvents().length);
  });

  it('no EOF at all (the producer died): finished after the wait with what was stored', async () => {
    const { id } = await createJob(env.pool);
    const all = jobStream('job', id).slice(0, 20);
    await push(env.redis, redisKeys(env.config).callbackQueue, all);
    await waitFor(async () => (await stored(id)) === 20, 20_000, 'events stored');
    await saveFinal(id, 'error');
    const finished = await waitFor(async () => { const j = await job(id); return j.event_processing_finished ? j : undefined; },
      20_000, 'the deadline to finish processing');
    expect(finished.eof_received).toBe(false);
    expect(finished.emitted_events).toBe(20);
    expect(finished.events_missing).toBe(0);
  });

  it('a job still running is left alone', async () => {
    const { id } = await createJob(env.pool);
    await env.pool.query(`UPDATE unified_jobs SET status = 'running', started = now() - interval '1 hour' WHERE id = $1`, [id]);
    await push(env.redis, redisKeys(env.config).callbackQueue, jobStream('job', id).slice(0, 5));
    await waitFor(async () => (await stored(id)) === 5, 20_000, 'events stored');
    await new Promise((r) => setTimeout(r, 6500));
    expect((await job(id)).event_processing_finished).toBe(false);
  });
});
