import { beforeAll, describe, expect, test } from 'vitest';
import { onCleanup, type TestEnv, useTestEnv } from '../support/harness.js';
import { createUser } from '../ws/ws-client.js';
import { startWebProcess } from '../ws/web-process.js';
import { basicHeader, formLogin, requestFrom } from './support.js';

/**
 * Password guessing against two `playstream web` processes sharing one Postgres and Redis:
 * the failure counts live in Redis, so spreading guesses over nodes gains nothing. Limits
 * are lowered here (4 per username, 8 per address, 30 s window) so a test takes seconds,
 * not the 5-minute default window. Each test sends from its own 127/8 address.
 */
let env: TestEnv;
let nodes: string[];

const LIMITS = {
  PLAYSTREAM_AUTH_FAILURES_PER_USER: '4',
  PLAYSTREAM_AUTH_FAILURES_PER_ADDRESS: '8',
  // Long enough that four refused guesses on a loaded machine (CI) still fall in one window.
  PLAYSTREAM_AUTH_FAILURE_WINDOW_SECONDS: '30',
};

beforeAll(async () => {
  env = await useTestEnv();
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) await createUser(env.pool, name, `${name}-pw`);
  const webs = await Promise.all([startWebProcess(env.env, LIMITS), startWebProcess(env.env, LIMITS)]);
  for (const w of webs) onCleanup(() => w.stop());
  nodes = webs.map((w) => `http://127.0.0.1:${w.port}`);
});

const me = (node: string, from: string, username: string, password: string) =>
  requestFrom(node, from, 'GET', '/api/v2/me/', { authorization: basicHeader(username, password) });

describe('authentication attempt limits', () => {
  test('wrong basic-auth guesses spread over two web processes lock the username on both, the right password included, until the window ends', async () => {
    const from = '127.0.0.2';
    for (let i = 0; i < 4; i++) expect((await me(nodes[i % 2], from, 'alice', `guess-${i}`)).status).toBe(401);
    const lockedAt = Date.now();
    for (const node of nodes) {
      const wrong = await me(node, from, 'alice', 'guess-5');
      expect(wrong.status).toBe(429);
      expect(Number(wrong.headers['retry-after'])).toBeGreaterThan(0);
      expect((await me(node, from, 'alice', 'alice-pw')).status).toBe(429);
    }
    // The username is locked whatever address asks.
    expect((await me(nodes[0], '127.0.0.3', 'alice', 'alice-pw')).status).toBe(429);
    // The window runs from the first failure: the right password works again once it has passed.
    let status = 429;
    while (status === 429 && Date.now() - lockedAt < 40_000) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await me(nodes[1], from, 'alice', 'alice-pw')).status;
    }
    expect(status).toBe(200);
  }, 90_000);

  test('a successful login resets the username\'s failure count', async () => {
    const from = '127.0.0.4';
    for (let i = 0; i < 3; i++) expect((await me(nodes[i % 2], from, 'bob', `guess-${i}`)).status).toBe(401);
    expect((await me(nodes[1], from, 'bob', 'bob-pw')).status).toBe(200);
    // Counted from zero again: four more failures are answered, the fifth attempt is refused.
    for (let i = 0; i < 4; i++) expect((await me(nodes[i % 2], from, 'bob', `again-${i}`)).status).toBe(401);
    expect((await me(nodes[0], from, 'bob', 'bob-pw')).status).toBe(429);
  });

  test('failures from one address over many usernames lock that address, and only it', async () => {
    const from = '127.0.0.5';
    for (let i = 0; i < 8; i++) expect((await me(nodes[i % 2], from, `nobody-${i}`, 'x')).status).toBe(401);
    expect((await me(nodes[0], from, 'nobody-9', 'x')).status).toBe(429);
    expect((await me(nodes[1], from, 'carol', 'carol-pw')).status).toBe(429);
    expect((await me(nodes[1], '127.0.0.6', 'carol', 'carol-pw')).status).toBe(200);
  });

  test('many requests at once with the same right password are one check, not many attempts', async () => {
    // A client opening many connections with one basic credential (websockets, a k6 run):
    // with 20 attempts reserved at once the username would lock at the fifth.
    const answers = await Promise.all(Array.from({ length: 20 }, () => me(nodes[0], '127.0.0.8', 'erin', 'erin-pw')));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
  });

  test('the login form, basic auth and token creation count against the same limit', async () => {
    const from = '127.0.0.7';
    expect((await formLogin(nodes[0], from, 'dave', 'guess-1')).status).toBe(401);
    expect((await formLogin(nodes[1], from, 'dave', 'guess-2')).status).toBe(401);
    expect((await me(nodes[0], from, 'dave', 'guess-3')).status).toBe(401);
    const token = await requestFrom(nodes[1], from, 'POST', '/api/v2/tokens/',
      { authorization: basicHeader('dave', 'guess-4'), 'content-type': 'application/json' }, '{}');
    expect(token.status).toBe(401);
    expect((await formLogin(nodes[0], from, 'dave', 'dave-pw')).status).toBe(429);
    const refused = await requestFrom(nodes[1], from, 'POST', '/api/v2/tokens/',
      { authorization: basicHeader('dave', 'dave-pw'), 'content-type': 'application/json' }, '{}');
    expect(refused.status).toBe(429);
  });
});
