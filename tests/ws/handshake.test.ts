import WebSocket from 'ws';
import { beforeAll, describe, expect, test } from 'vitest';
import { publishBroadcast, statusChangedMessage } from '../../src/pipeline/broadcast.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { basic, createJob, createUser, eventMessage, TestClient } from './ws-client.js';

let env: TestEnv;
let wsUrl: string;
let aliceId: number;
let aliceJob: number;
let adminJob: number;
const alice = () => ({ authorization: basic('alice', 'alice-pw'), cookie: 'csrftoken=tok-alice; other=1' });
const publish = (group: string, messages: Record<string, unknown>[]) =>
  publishBroadcast(env.redis, redisKeys(env.config).broadcastChannel, { group, messages });

beforeAll(async () => {
  env = await useTestEnv();
  const adminId = await createUser(env.pool, 'admin', 'admin-pw', true);
  aliceId = await createUser(env.pool, 'alice', 'alice-pw');
  aliceJob = (await createJob(env.pool, aliceId)).id;
  adminJob = (await createJob(env.pool, adminId)).id;
  const web = await startTestWeb(env);
  wsUrl = `ws://127.0.0.1:${web.port}/websocket/`;
});

describe('AWX websocket handshake', () => {
  test('an anonymous upgrade is refused with 403', async () => {
    const ws = new WebSocket(wsUrl);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, res) => resolve(res.statusCode!)));
    expect(status).toBe(403);
  });

  test('an authenticated client is accepted with its user id, on /websocket/ and /api/websocket/', async () => {
    for (const path of ['/websocket/', '/api/websocket/']) {
      const c = await TestClient.connect(wsUrl.replace('/websocket/', path), alice());
      expect(await c.next()).toEqual({ accept: true, user: aliceId });
      c.close();
    }
  });

  test('a groups message replaces the whole subscription set', async () => {
    const c = await TestClient.connect(wsUrl, alice());
    await c.next((m) => m.accept === true);
    c.send({ groups: { jobs: ['status_changed'], job_events: [aliceJob] }, xrftoken: 'tok-alice' });
    const first = await c.next((m) => 'groups_current' in m);
    expect(new Set(first.groups_current as string[])).toEqual(new Set(['jobs-status_changed', `job_events-${aliceJob}`]));
    expect(first.groups_left).toEqual([]);
    expect(new Set(first.groups_joined as string[])).toEqual(new Set(['jobs-status_changed', `job_events-${aliceJob}`]));

    await publish(`job_events-${aliceJob}`, [eventMessage(aliceJob, 1, 10)]);
    expect((await c.next((m) => m.group_name === 'job_events')).counter).toBe(1);

    c.send({ groups: { jobs: ['summary', 'status_changed'] }, xrftoken: 'tok-alice' });
    const second = await c.next((m) => 'groups_current' in m);
    expect(new Set(second.groups_current as string[])).toEqual(new Set(['jobs-summary', 'jobs-status_changed']));
    expect(second.groups_left).toEqual([`job_events-${aliceJob}`]);
    expect(second.groups_joined).toEqual(['jobs-summary']);

    // Left: events of the job no longer arrive; the status change published after them does.
    await publish(`job_events-${aliceJob}`, [eventMessage(aliceJob, 2, 10)]);
    await publishBroadcast(env.redis, redisKeys(env.config).broadcastChannel,
      statusChangedMessage({ id: aliceJob, status: 'successful', kind: 'job' }));
    const next = await c.next((m) => m.group_name !== undefined);
    expect(next).toMatchObject({ group_name: 'jobs', unified_job_id: aliceJob, status: 'successful', type: 'job' });
    c.close();
  });

  test('a wrong xrftoken is denied and changes nothing', async () => {
    const c = await TestClient.connect(wsUrl, alice());
    await c.next((m) => m.accept === true);
    c.send({ groups: { jobs: ['summary'] }, xrftoken: 'tok-alice' });
    await c.next((m) => 'groups_current' in m);
    c.send({ groups: { job_events: [aliceJob] }, xrftoken: 'not-the-cookie' });
    expect(await c.next((m) => 'error' in m || 'groups_current' in m)).toEqual({ error: 'access denied to channel' });
    c.send({ groups: { job_events: [aliceJob] } });
    expect(await c.next((m) => 'error' in m || 'groups_current' in m)).toEqual({ error: 'access denied to channel' });
    await publish(`job_events-${aliceJob}`, [eventMessage(aliceJob, 3, 10)]);
    await publish('jobs-summary', [{ group_name: 'jobs', unified_job_id: aliceJob, summary: true }]);
    expect(await c.next((m) => m.group_name !== undefined)).toMatchObject({ group_name: 'jobs', summary: true });
    c.close();
  });

  test('event groups need read permission on the job', async () => {
    const c = await TestClient.connect(wsUrl, alice());
    await c.next((m) => m.accept === true);
    c.send({ groups: { job_events: [adminJob, aliceJob] }, xrftoken: 'tok-alice' });
    expect(await c.next((m) => 'error' in m))
      .toEqual({ error: `access denied to channel job_events for resource id ${adminJob}` });
    const reply = await c.next((m) => 'groups_current' in m);
    expect(reply.groups_current).toEqual([`job_events-${aliceJob}`]);
    await publish(`job_events-${adminJob}`, [eventMessage(adminJob, 7, 10)]);
    await publish(`job_events-${aliceJob}`, [eventMessage(aliceJob, 8, 10)]);
    expect(await c.next((m) => m.group_name === 'job_events')).toMatchObject({ job: aliceJob, counter: 8 });

    const admin = await TestClient.connect(wsUrl, { authorization: basic('admin', 'admin-pw') });
    await admin.next((m) => m.accept === true);
    admin.send({ groups: { job_events: [adminJob, aliceJob] } });
    expect(new Set((await admin.next((m) => 'groups_current' in m)).groups_current as string[]))
      .toEqual(new Set([`job_events-${adminJob}`, `job_events-${aliceJob}`]));
    c.close();
    admin.close();
  });

  test('batched frames carry an array of messages when the client opts in', async () => {
    const c = await TestClient.connect(wsUrl, alice());
    await c.next((m) => m.accept === true);
    const frames: unknown[] = [];
    c.ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString())));
    c.send({ groups: { job_events: [aliceJob] }, batch: true, xrftoken: 'tok-alice' });
    await c.next((m) => 'groups_current' in m);
    await publish(`job_events-${aliceJob}`, [1, 2, 3].map((n) => eventMessage(aliceJob, 100 + n, 10)));
    await c.next((m) => m.counter === 103);
    const batch = frames.find(Array.isArray) as Record<string, unknown>[];
    expect(batch.map((m) => m.counter)).toEqual([101, 102, 103]);
    c.close();
  });
});
