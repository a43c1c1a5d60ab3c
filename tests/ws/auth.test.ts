import WebSocket from 'ws';
import { beforeAll, describe, expect, test } from 'vitest';
import { publishBroadcast } from '../../src/pipeline/broadcast.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { basic, createJob, createUser, eventMessage, TestClient } from './ws-client.js';

/**
 * The two ways a real client authenticates a socket: a browser's session (POST /api/login/
 * with its csrftoken, then the cookies on the upgrade and the token as `xrftoken`), and a
 * script's bearer token from /api/v2/tokens/ (no cookie, no xrftoken).
 */
let env: TestEnv;
let http: string;
let wsUrl: string;
let bobId: number;
let bobJob: number;
let otherJob: number;

beforeAll(async () => {
  env = await useTestEnv();
  bobId = await createUser(env.pool, 'bob', 'bob-pw');
  const adminId = await createUser(env.pool, 'root', 'root-pw', true);
  bobJob = (await createJob(env.pool, bobId)).id;
  otherJob = (await createJob(env.pool, adminId)).id;
  const web = await startTestWeb(env);
  http = web.url;
  wsUrl = `ws://127.0.0.1:${web.port}/websocket/`;
});

const publishEvent = (jobId: number, counter: number) => publishBroadcast(env.redis, redisKeys(env.config).broadcastChannel,
  { group: `job_events-${jobId}`, messages: [eventMessage(jobId, counter, 10)] });

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** What a browser does: GET the login page for a csrftoken, POST the form with it. */
async function browserLogin(username: string, password: string): Promise<{ sessionid: string; csrftoken: string; before: string }> {
  const page = await fetch(`${http}/api/login/`);
  const before = cookiesOf(page).csrftoken;
  expect(before).toBeTruthy();
  const res = await fetch(`${http}/api/login/`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: `csrftoken=${before}`, 'x-csrftoken': before, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, next: '/' }).toString(),
  });
  expect(res.status).toBe(302);
  const { sessionid, csrftoken } = cookiesOf(res);
  expect(sessionid).toBeTruthy();
  expect(csrftoken).toBeTruthy();
  return { sessionid, csrftoken, before };
}

function upgradeStatus(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers });
    ws.once('unexpected-response', (_q, res) => resolve(res.statusCode!));
    ws.once('open', () => { ws.terminate(); resolve(101); });
    ws.once('error', reject);
  });
}

describe('websocket session-cookie authentication', () => {
  test('a browser session logged in via /api/login/ subscribes with its csrftoken as xrftoken and receives its job\'s events', async () => {
    const s = await browserLogin('bob', 'bob-pw');
    const c = await TestClient.connect(wsUrl, { cookie: `csrftoken=${s.csrftoken}; sessionid=${s.sessionid}` });
    expect(await c.next()).toEqual({ accept: true, user: bobId });

    c.send({ groups: { job_events: [bobJob] } });
    expect(await c.next((m) => 'error' in m || 'groups_current' in m)).toEqual({ error: 'access denied to channel' });
    // The pre-login token was rotated at login: it no longer opens anything.
    c.send({ groups: { job_events: [bobJob] }, xrftoken: s.before });
    expect(await c.next((m) => 'error' in m || 'groups_current' in m)).toEqual({ error: 'access denied to channel' });

    c.send({ groups: { job_events: [bobJob, otherJob] }, xrftoken: s.csrftoken });
    expect(await c.next((m) => 'error' in m)).toEqual({ error: `access denied to channel job_events for resource id ${otherJob}` });
    expect(await c.next((m) => 'groups_current' in m)).toEqual(
      { groups_current: [`job_events-${bobJob}`], groups_left: [], groups_joined: [`job_events-${bobJob}`] });
    await publishEvent(otherJob, 1);
    await publishEvent(bobJob, 7);
    expect(await c.next((m) => m.group_name === 'job_events')).toMatchObject({ job: bobJob, counter: 7 });
    expect(c.messages.filter((m) => m.job === otherJob)).toEqual([]);
    c.close();
  });

  test('a csrftoken cookie that is not the session\'s own token opens no subscription', async () => {
    const s = await browserLogin('bob', 'bob-pw');
    const c = await TestClient.connect(wsUrl, { cookie: `sessionid=${s.sessionid}; csrftoken=planted` });
    expect(await c.next()).toEqual({ accept: true, user: bobId });
    c.send({ groups: { job_events: [bobJob] }, xrftoken: 'planted' });
    expect(await c.next((m) => 'error' in m || 'groups_current' in m)).toEqual({ error: 'access denied to channel' });
    c.close();
  });

  test('a session without its csrftoken cookie is accepted but may not subscribe; a logged-out session is refused', async () => {
    const s = await browserLogin('bob', 'bob-pw');
    const c = await TestClient.connect(wsUrl, { cookie: `sessionid=${s.sessionid}` });
    await c.next((m) => m.accept === true);
    c.send({ groups: { job_events: [bobJob] }, xrftoken: s.csrftoken });
    expect(await c.next((m) => 'error' in m || 'groups_current' in m)).toEqual({ error: 'access denied to channel' });
    c.close();

    const cookie = `csrftoken=${s.csrftoken}; sessionid=${s.sessionid}`;
    expect(await upgradeStatus({ cookie })).toBe(101);
    const out = await fetch(`${http}/api/logout/`, { method: 'POST', redirect: 'manual', headers: { cookie, 'x-csrftoken': s.csrftoken } });
    expect(out.status).toBe(302);
    expect(await upgradeStatus({ cookie })).toBe(403);
    expect(await upgradeStatus({ cookie: `csrftoken=${s.csrftoken}; sessionid=not-a-session` })).toBe(403);
  });
});

describe('websocket bearer-token authentication', () => {
  test('a token from /api/v2/tokens/ opens a socket that subscribes without xrftoken, within the user\'s job permissions', async () => {
    const res = await fetch(`${http}/api/v2/tokens/`, { method: 'POST',
      headers: { authorization: basic('bob', 'bob-pw'), 'content-type': 'application/json' }, body: JSON.stringify({ scope: 'read' }) });
    expect(res.status).toBe(201);
    const { token, id: tokenId } = await res.json() as { token: string; id: number };
    const bearer = { authorization: `Bearer ${token}` };

    const c = await TestClient.connect(wsUrl, bearer);
    expect(await c.next()).toEqual({ accept: true, user: bobId });
    c.send({ groups: { job_events: [bobJob, otherJob], jobs: ['status_changed'] } });
    expect(await c.next((m) => 'error' in m)).toEqual({ error: `access denied to channel job_events for resource id ${otherJob}` });
    const reply = await c.next((m) => 'groups_current' in m);
    expect(new Set(reply.groups_current as string[])).toEqual(new Set([`job_events-${bobJob}`, 'jobs-status_changed']));
    await publishEvent(bobJob, 3);
    expect(await c.next((m) => m.group_name === 'job_events')).toMatchObject({ job: bobJob, counter: 3 });
    c.close();

    expect(await upgradeStatus({ authorization: `Bearer ${token}x` })).toBe(403);
    const del = await fetch(`${http}/api/v2/tokens/${tokenId}/`, { method: 'DELETE', headers: { authorization: basic('bob', 'bob-pw') } });
    expect(del.status).toBe(204);
    expect(await upgradeStatus(bearer)).toBe(403);
  });
});
