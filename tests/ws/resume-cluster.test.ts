import fs from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { sharedFixture } from '../../src/paths.js';
import { startReceiver } from '../../src/pipeline/receiver.js';
import { publishBroadcast, statusChangedMessage } from '../../src/pipeline/broadcast.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { startWebProcess } from './web-process.js';
import { basic, createJob, createUser, eventMessage, TestClient } from './ws-client.js';

let env: TestEnv;
const auth = { authorization: basic('admin', 'pw') };

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'admin', 'pw', true);
});

async function insertEvents(job: { id: number; created: Date }, from: number, to: number): Promise<void> {
  await env.pool.query('SELECT ensure_event_partitions($1)', [job.created]);
  await env.pool.query(
    `INSERT INTO job_events (created, modified, job_created, job_id, event, counter, uuid, stdout)
     SELECT now(), now(), $1, $2, 'runner_on_ok', c, 'u-' || c, 'line ' || c FROM generate_series($3::int, $4::int) c`,
    [job.created, job.id, from, to]);
}

describe('resume', () => {
  test('resume sends stored events after the counter, then live ones, with no gap and no duplicate at the seam', async () => {
    const job = await createJob(env.pool, null);
    await insertEvents(job, 1, 3000);
    const web = await startTestWeb(env);
    const channel = redisKeys(env.config).broadcastChannel;
    const c = await TestClient.connect(`ws://127.0.0.1:${web.port}/websocket/`, auth, true);
    await c.next((m) => m.accept === true);
    // Live copies of stored events keep arriving while the subscription is handled, so some
    // land between the group's join and the start of the resume: they too must wait for the
    // stored events, and be dropped as already sent.
    let joining = true;
    const early = (async () => {
      while (joining) {
        await publishBroadcast(env.redis, channel, { group: `job_events-${job.id}`,
          messages: Array.from({ length: 10 }, (_, i) => eventMessage(job.id, 1991 + i, 10)) });
      }
    })();
    c.send({ groups: { job_events: [job.id] }, resume: { [`job_events-${job.id}`]: 1000 } });
    await c.next((m) => Array.isArray(m.groups_current));
    joining = false;
    await early;
    // While the stored events are read: 2001..3000 arrive live again (already stored: duplicates
    // the seam must drop), then 3001..4000 are stored and announced (new: must follow, once).
    for (let n = 2001; n <= 3000; n += 100) {
      await publishBroadcast(env.redis, channel, { group: `job_events-${job.id}`,
        messages: Array.from({ length: 100 }, (_, i) => eventMessage(job.id, n + i, 10)) });
    }
    await insertEvents(job, 3001, 4000);
    for (let n = 3001; n <= 4000; n += 100) {
      await publishBroadcast(env.redis, channel, { group: `job_events-${job.id}`,
        messages: Array.from({ length: 100 }, (_, i) => eventMessage(job.id, n + i, 10)) });
    }
    await c.until(() => c.counters().includes(4000));
    await new Promise((r) => setTimeout(r, 200));
    const got = c.counters();
    expect(got.length).toBe(3000);
    expect(got).toEqual(Array.from({ length: 3000 }, (_, i) => 1001 + i));
    // Resumed events have the live shape.
    expect(c.messages.find((m) => m.counter === 1001)).toMatchObject({ group_name: 'job_events', job: job.id, type: 'job_event', event: 'runner_on_ok' });
    c.close();
  });
});

describe('cluster', () => {
  test('two web processes both deliver events produced by one receiver', async () => {
    const job = await createJob(env.pool, null);
    const [a, b] = await Promise.all([startWebProcess(env.env), startWebProcess(env.env)]);
    const receiver = await startReceiver({ config: env.config, pool: env.pool, workers: 2 });
    try {
      const ca = await TestClient.connect(a.url, auth);
      const cb = await TestClient.connect(b.url, auth);
      for (const c of [ca, cb]) await c.subscribe({ groups: { job_events: [job.id], jobs: ['summary'] } });
      const events = fs.readFileSync(sharedFixture('runner-events.jsonl'), 'utf8').trim().split('\n')
        .map((l) => JSON.stringify({ ...JSON.parse(l), job_id: job.id }));
      events.push(JSON.stringify({ event: 'EOF', final_counter: events.length, job_id: job.id }));
      await env.redis.rpush(redisKeys(env.config).callbackQueue, ...events);
      for (const c of [ca, cb]) {
        await c.next((m) => m.group_name === 'jobs' && m.unified_job_id === job.id, 20_000);
        await c.until(() => c.counters().length >= 81);
        expect([...c.counters()].sort((x, y) => x - y)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
        expect(c.messages.find((m) => m.counter === 2)).toMatchObject({ job: job.id, event: 'playbook_on_play_start' });
      }
      ca.close(); cb.close();
    } finally {
      await receiver.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('restarting the web process leaves no stale subscription', async () => {
    const job = await createJob(env.pool, null);
    // The receiver of the test above may still be tidying its own keys: look at the rest.
    const keysNow = async () => new Set((await env.redis.keys(`${env.id}:*`)).filter((k) => !k.includes(':receiver:')));
    const keysBefore = await keysNow();
    const channel = redisKeys(env.config).broadcastChannel;
    const busSubscribers = async () => (await env.redis.pubsub('NUMSUB', channel) as [string, number])[1];
    const subscribersBefore = await busSubscribers();
    const first = await startWebProcess(env.env);
    const old = await TestClient.connect(first.url, auth, true);
    await old.subscribe({ groups: { job_events: [job.id], jobs: ['status_changed'] } });
    await first.stop('SIGKILL');

    const second = await startWebProcess(env.env, { PORT: String(first.port) });
    try {
      // Nothing about the old socket's groups was written anywhere shared.
      expect(await keysNow()).toEqual(keysBefore);
      const fresh = await TestClient.connect(second.url, auth, true);
      await fresh.subscribe({ groups: { jobs: ['summary'] } });
      await publishBroadcast(env.redis, channel, { group: `job_events-${job.id}`, messages: [eventMessage(job.id, 1, 10)] });
      await publishBroadcast(env.redis, channel, statusChangedMessage({ id: job.id, status: 'running', kind: 'job' }));
      const receivers = await env.redis.publish(channel, JSON.stringify({ group: 'jobs-summary',
        messages: [{ group_name: 'jobs', unified_job_id: job.id, marker: 'after' }] }));
      // One more subscriber on the bus than before: the new process (the killed one's is gone).
      expect(receivers).toBe(subscribersBefore + 1);
      const m = await fresh.next((x) => x.group_name !== undefined);
      expect(m).toMatchObject({ group_name: 'jobs', marker: 'after' });
      expect(fresh.messages.filter((x) => x.group_name === 'job_events' || x.status === 'running')).toEqual([]);
      fresh.close();
    } finally {
      await second.stop();
    }
  });
});
