import { beforeAll, describe, expect, test } from 'vitest';
import { metrics } from '../../src/metrics.js';
import { publishBroadcast } from '../../src/pipeline/broadcast.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { startWebProcess } from './web-process.js';
import { basic, createJob, createUser, eventMessage, type Msg, TestClient } from './ws-client.js';

let env: TestEnv;
let jobId: number;
const auth = { authorization: basic('admin', 'pw') };

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'admin', 'pw', true);
  jobId = (await createJob(env.pool, null)).id;
});

/** Publishes `total` events in bus messages of `per`, never more than `lead` ahead of the slowest reader. */
async function flood(total: number, per: number, readers: TestClient[], lead: number): Promise<void> {
  const channel = redisKeys(env.config).broadcastChannel;
  for (let c = 1; c <= total; c += per) {
    const batch = Array.from({ length: Math.min(per, total - c + 1) }, (_, i) => eventMessage(jobId, c + i));
    await publishBroadcast(env.redis, channel, { group: `job_events-${jobId}`, messages: batch });
    const target = c + batch.length - 1 - lead;
    await Promise.all(readers.map((r) => r.until(() => r.messages.length - 2 >= target, 60_000)));
  }
  await Promise.all(readers.map((r) => r.until(() => r.messages.length - 2 >= total, 60_000)));
}

function expectContiguous(counters: number[], from: number, to: number): void {
  expect(counters.length).toBe(to - from + 1);
  for (let i = 0; i < counters.length; i++) if (counters[i] !== from + i) expect(counters[i]).toBe(from + i);
}

describe('bounded per-group queues', () => {
  test('a client that never reads while 100,000 events flow is bounded, counted, told its missed range; others get every event in order', async () => {
    const web = await startWebProcess(env.env, { PLAYSTREAM_WS_OVERFLOW_CLOSE_SECONDS: '600' });
    try {
      const sub = { groups: { job_events: [jobId] } };
      const readers = [await TestClient.connect(web.url, auth, true), await TestClient.connect(web.url, auth, true)];
      const stalled = await TestClient.connect(web.url, auth, true);
      for (const c of [...readers, stalled]) await c.subscribe(sub);
      stalled.ws.pause();
      const rssBefore = web.rssKb();
      let rssPeak = rssBefore;
      const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, web.rssKb()); }, 50);
      await flood(100_000, 100, readers, 5000);
      clearInterval(sampler);
      rssPeak = Math.max(rssPeak, web.rssKb());

      // The queue bound is 10,000 × ≈1.1 KB ≈ 11 MB; 96 MB leaves room for V8's heap slack
      // after 110 MB of JSON went through, and would be blown by an unbounded queue (> 110 MB).
      console.log(`web RSS ${Math.round(rssBefore / 1024)} MB before, ${Math.round(rssPeak / 1024)} MB peak`);
      expect((rssPeak - rssBefore) / 1024).toBeLessThan(96);
      for (const r of readers) expectContiguous(r.counters(), 1, 100_000);

      await readers[0].until(() => /1 of 3 clients over capacity in group job_events-\d+/.test(web.stderr()), 5000);

      stalled.ws.resume();
      const notice = await stalled.next((m) => m.group_name === 'control', 20_000);
      const got = stalled.counters();
      const last = got[got.length - 1];
      expectContiguous(got, 1, last);
      expect(last).toBeGreaterThanOrEqual(10_000);
      expect(notice).toEqual({ group_name: 'control', type: 'over_capacity', group: `job_events-${jobId}`,
        missed_counters: [last + 1, 100_000], missed_messages: 100_000 - last } satisfies Msg);
      for (const c of [...readers, stalled]) c.close();
    } finally {
      await web.stop();
    }
  });

  test('a client over capacity too long gets its undelivered range, then close code 4008; overflow is counted per group', async () => {
    const web = await startTestWeb({ ...env, config: { ...env.config, wsQueueSize: 100, wsOverflowCloseSeconds: 1 } });
    const url = `ws://127.0.0.1:${web.port}/websocket/`;
    const reader = await TestClient.connect(url, auth, true);
    const stalled = await TestClient.connect(url, auth, true);
    for (const c of [reader, stalled]) await c.subscribe({ groups: { job_events: [jobId] } });
    stalled.ws.pause();
    const counter = metrics.counter('ws_group_overflow_total', '');
    const closes = metrics.counter('ws_over_capacity_closes_total', '');
    const before = counter.get({ group: `job_events-${jobId}` });
    const closesBefore = closes.get();
    const flooding = flood(20_000, 50, [reader], 50);
    // The server closes the stalled client once its queue has overflowed for 1 s (checked
    // every second). From then uWS gives the socket its ping-timeout margin (16 s at
    // idleTimeout 120) to drain before cutting it without a close frame, so the client starts
    // reading the moment the server has closed it, however slowly the flood runs on a loaded
    // machine (reading only after a 20,000-event flood that took > 16 s produced 1006).
    await reader.until(() => closes.get() > closesBefore, 60_000);
    expect(stalled.closeCode).toBeUndefined();
    stalled.ws.resume();
    await stalled.until(() => stalled.closeCode !== undefined, 15_000);
    expect(stalled.closeCode).toBe(4008);
    expect(closes.get() - closesBefore).toBe(1);
    await flooding;
    expectContiguous(reader.counters(), 1, 20_000);
    expect(counter.get({ group: `job_events-${jobId}` }) - before).toBeGreaterThan(0);
    const got = stalled.counters();
    const last = got.length ? got[got.length - 1] : 0;
    expectContiguous(got, 1, last);
    // Closed while the flood still ran or after it: the notice names everything from its
    // last delivered event up to the last event published before it was closed.
    const notice = stalled.messages.find((m) => m.group_name === 'control')!;
    const [from, to] = notice.missed_counters as [number, number];
    expect(from).toBe(last + 1);
    expect(to).toBeLessThanOrEqual(20_000);
    expect(to).toBeGreaterThan(last + 100);
    expect(notice).toMatchObject({ type: 'over_capacity', group: `job_events-${jobId}`, missed_messages: to - last });
    expect(stalled.messages.indexOf(notice)).toBe(stalled.messages.length - 1);
    reader.close();
  });
});
