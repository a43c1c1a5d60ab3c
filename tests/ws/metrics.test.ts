import { beforeAll, describe, expect, test } from 'vitest';
import { metrics } from '../../src/metrics.js';
import { publishBroadcast } from '../../src/pipeline/broadcast.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { basic, createJob, createUser, eventMessage, type Msg, TestClient } from './ws-client.js';

let env: TestEnv;
const auth = { authorization: basic('admin', 'pw') };

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'admin', 'pw', true);
});

const isWsFigures = (m: Msg) => m.group_name === 'metrics' && m.type === 'websocket';

describe('websocket figures', () => {
  test('the web node publishes its queue depths and overflow per group to the metrics group twice a second, and /api/v2/metrics/ shows them', async () => {
    const jobId = (await createJob(env.pool, null)).id;
    const group = `job_events-${jobId}`;
    const web = await startTestWeb({ ...env, config: { ...env.config, wsQueueSize: 100, wsOverflowCloseSeconds: 600 } });
    const url = `ws://127.0.0.1:${web.port}/websocket/`;
    const watcher = await TestClient.connect(url, auth, true);
    await watcher.subscribe({ groups: { metrics: ['websocket'], jobs: ['summary'] } });
    const stalled = await TestClient.connect(url, auth, true);
    await stalled.subscribe({ groups: { job_events: [jobId] } });
    stalled.ws.pause();

    // 20,000 × ≈1 KB: more than the stalled socket's kernel buffers and uWS's 256 KB hold,
    // so its 100-slot queue fills and the rest is dropped.
    const channel = redisKeys(env.config).broadcastChannel;
    // The process-wide counter may already hold another file's drops (a worker runs many files).
    const overflowCounter = metrics.counter('ws_group_overflow_total', '');
    const droppedBefore = overflowCounter.get({ group });
    for (let c = 1; c <= 20_000; c += 100) {
      await publishBroadcast(env.redis, channel, { group, messages: Array.from({ length: 100 }, (_, i) => eventMessage(jobId, c + i)) });
    }
    // Bus order is kept: once a marker published after the flood reaches the watcher, every
    // flood message has been dispatched and the overflow count is final.
    await publishBroadcast(env.redis, channel, { group: 'jobs-summary', messages: [{ group_name: 'jobs', marker: 'end' }] });
    await watcher.next((m) => m.marker === 'end', 20_000);
    const dropped = overflowCounter.get({ group }) - droppedBefore;
    expect(dropped).toBeGreaterThan(0);
    const fig = await watcher.next((m) => isWsFigures(m) && (m.overflow as { by_group: Record<string, number> }).by_group[group] === dropped, 5000);
    expect(fig).toMatchObject({
      node: env.config.nodeName, clients: 2,
      queue_depth: { total: 100, largest_client: 100, by_group: { [group]: 100 } },
      overflow: { total: dropped, by_group: { [group]: dropped } },
      over_capacity_closes_total: expect.any(Number),
    });
    expect(fig.sent_total).toBeGreaterThan(0);
    expect(typeof fig.instance).toBe('string');
    // Twice a second: the next two arrive within ~1 s of this one.
    const a = await watcher.next(isWsFigures, 2000);
    const b = await watcher.next(isWsFigures, 2000);
    expect((b.at as number) - (fig.at as number)).toBeLessThan(1500);
    expect((b.at as number) - (a.at as number)).toBeGreaterThanOrEqual(400);

    const res = await fetch(`http://127.0.0.1:${web.port}/api/v2/metrics/`, { headers: auth });
    expect(res.status).toBe(200);
    const text = await res.text();
    const sample = (name: string, label: string) =>
      Number(new RegExp(`^${name}\\{[^}]*${label}[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(sample('ws_group_overflow_total', `group="${group}"`)).toBe(droppedBefore + dropped);
    expect(sample('ws_group_queue_depth', `group="${group}"`)).toBe(100);
    expect(sample('ws_queue_depth', 'which="total"')).toBe(100);
    expect(sample('ws_queue_depth', 'which="largest_client"')).toBe(100);

    // Once the stalled client leaves, its group's depth is gone from both.
    stalled.close();
    const after = await watcher.next((m) => isWsFigures(m) && m.clients === 1, 5000);
    expect(after.queue_depth).toEqual({ total: 0, largest_client: 0, by_group: {} });
    const text2 = await (await fetch(`http://127.0.0.1:${web.port}/api/v2/metrics/`, { headers: auth })).text();
    expect(text2).not.toMatch(new RegExp(`ws_group_queue_depth\\{[^}]*group="${group}"`));
    watcher.close();
  });
});
