import { beforeAll, describe, expect, test } from 'vitest';
import { onCleanup, type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { startWebProcess } from '../ws/web-process.js';
import { basicHeader, formLogin, requestFrom } from './support.js';

/**
 * A password change or a deactivation ends every credential the user held: login
 * sessions and bearer tokens are deleted (migration 0500's trigger, whoever makes the
 * change), and no web process keeps accepting the old password from its basic-auth
 * cache. One web server runs in this process, a second as `playstream web`.
 */
let env: TestEnv;
let here: string;
let other: string;
const admin = { authorization: basicHeader('root', 'root-pw') };

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'root', 'root-pw', true);
  ({ url: here } = await startTestWeb(env));
  const web = await startWebProcess(env.env);
  onCleanup(() => web.stop());
  other = `http://127.0.0.1:${web.port}`;
});

const me = (base: string, headers: Record<string, string>) => requestFrom(base, '127.0.2.1', 'GET', '/api/v2/me/', headers);

/** A session (form login) and a bearer token of `username`, both checked to work on both servers. */
async function credentialsOf(username: string, password: string): Promise<{ session: Record<string, string>; bearer: Record<string, string> }> {
  const login = await formLogin(here, '127.0.2.1', username, password);
  expect(login.status).toBe(302);
  const created = await requestFrom(here, '127.0.2.1', 'POST', '/api/v2/tokens/',
    { authorization: basicHeader(username, password), 'content-type': 'application/json' }, '{}');
  expect(created.status).toBe(201);
  const session = { cookie: login.cookie! };
  const bearer = { authorization: `Bearer ${created.json.token}` };
  for (const base of [here, other]) for (const h of [session, bearer]) expect((await me(base, h)).status).toBe(200);
  return { session, bearer };
}

/** Polls until `base` answers 401 (another process hears of a change through NOTIFY, within milliseconds). */
async function eventually401(base: string, headers: Record<string, string>): Promise<number> {
  const deadline = Date.now() + 3000;
  let status = (await me(base, headers)).status;
  while (status !== 401 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    status = (await me(base, headers)).status;
  }
  return status;
}

describe('credential revocation', () => {
  test('a password change ends the user\'s sessions and tokens, and the old password stops working on every web process at once', async () => {
    const id = await createUser(env.pool, 'eve', 'old-pw');
    const { session, bearer } = await credentialsOf('eve', 'old-pw');
    // The other process has verified (and cached) the old password.
    expect((await me(other, { authorization: basicHeader('eve', 'old-pw') })).status).toBe(200);

    const changed = await requestFrom(here, '127.0.2.9', 'PATCH', `/api/v2/users/${id}/`,
      { ...admin, 'content-type': 'application/json' }, JSON.stringify({ password: 'new-pw' }));
    expect(changed.status).toBe(200);

    expect((await me(here, session)).status).toBe(401);
    expect((await me(here, bearer)).status).toBe(401);
    expect(await eventually401(other, session)).toBe(401);
    expect(await eventually401(other, bearer)).toBe(401);
    expect((await me(other, { authorization: basicHeader('eve', 'old-pw') })).status).toBe(401);
    expect((await me(other, { authorization: basicHeader('eve', 'new-pw') })).status).toBe(200);
    const left = await env.pool.query('SELECT (SELECT count(*) FROM api_sessions WHERE user_id = $1) + (SELECT count(*) FROM api_tokens WHERE user_id = $1) AS n', [id]);
    expect(left.rows[0].n).toBe(0);
  });

  test('deactivating a user ends their sessions and tokens, and reactivating does not bring them back', async () => {
    const id = await createUser(env.pool, 'mallory', 'm-pw');
    const { session, bearer } = await credentialsOf('mallory', 'm-pw');
    await env.pool.query('UPDATE users SET is_active = false WHERE id = $1', [id]);
    for (const base of [here, other]) {
      expect(await eventually401(base, session)).toBe(401);
      expect(await eventually401(base, bearer)).toBe(401);
      expect((await me(base, { authorization: basicHeader('mallory', 'm-pw') })).status).toBe(401);
    }
    await env.pool.query('UPDATE users SET is_active = true WHERE id = $1', [id]);
    await new Promise((r) => setTimeout(r, 200));
    for (const base of [here, other]) {
      expect((await me(base, session)).status).toBe(401);
      expect((await me(base, bearer)).status).toBe(401);
    }
  });
});
