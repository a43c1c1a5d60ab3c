import crypto from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { sha256 } from '../../src/api/auth.js';
import { metrics } from '../../src/metrics.js';
import { hashPassword, verifyPassword } from '../../src/security/passwords.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { basicHeader, formLogin, requestFrom } from './support.js';

/**
 * Password hashes at OWASP's scrypt cost (N=2^17, r=8, p=1), the same scrypt work for a
 * username that does not exist as for a wrong password (so timing does not reveal which
 * accounts exist), and old hashes upgraded on the next successful login.
 *
 * Work is asserted structurally: the web server runs in this process and every scrypt
 * verification counts in `auth_password_verifications_total{n=...}`, labelled with the
 * cost it ran at. Timings on a shared 2-core machine are too noisy to compare.
 */
// The suite runs at a lower cost (vitest.config.ts); this file checks the production default.
delete process.env.PLAYSTREAM_PASSWORD_HASH_COST;
let env: TestEnv;
let base: string;
const CURRENT = { n: String(2 ** 17) };
const verifications = () => metrics.counter('auth_password_verifications_total', '').get(CURRENT);

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'alice', 'alice-pw');
  await env.pool.query(`INSERT INTO users (username, password) VALUES ('nopass', '')`);
  ({ url: base } = await startTestWeb(env));
});

/** A hash in the stored format at a lower cost, as releases before this one wrote them. */
function legacyHash(password: string, n: number): string {
  const salt = crypto.randomBytes(16);
  const hash = crypto.scryptSync(password, salt, 32, { N: n, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${n}$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

describe('password hashing', () => {
  test('new hashes are scrypt N=2^17, r=8, p=1 and record those parameters', async () => {
    const stored = await hashPassword('correct horse');
    expect(stored).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsf', stored)).toBe(false);
  });

  test('an unknown username, a user without a password and a wrong password each cost one full-cost scrypt verification', async () => {
    const cases: [string, () => Promise<number>][] = [
      ['wrong password', async () => (await requestFrom(base, '127.0.1.1', 'GET', '/api/v2/me/', { authorization: basicHeader('alice', 'nope') })).status],
      ['unknown user', async () => (await requestFrom(base, '127.0.1.1', 'GET', '/api/v2/me/', { authorization: basicHeader('no-such-user', 'nope') })).status],
      ['no local password', async () => (await requestFrom(base, '127.0.1.1', 'GET', '/api/v2/me/', { authorization: basicHeader('nopass', '') })).status],
      ['unknown user, login form', async () => (await formLogin(base, '127.0.1.1', 'no-such-user-2', 'nope')).status],
    ];
    for (const [name, attempt] of cases) {
      const before = verifications();
      expect(await attempt(), name).toBe(401);
      expect(verifications() - before, name).toBe(1);
    }
  });

  test('a hash stored at a lower cost still verifies, is rehashed at the current cost on login, and the rehash revokes nothing', async () => {
    const { rows } = await env.pool.query<{ id: number }>(
      `INSERT INTO users (username, password) VALUES ('legacy', $1) RETURNING id`, [legacyHash('legacy-pw', 2 ** 14)]);
    const token = crypto.randomBytes(30).toString('base64url');
    await env.pool.query(`INSERT INTO api_tokens (user_id, token_hash, expires) VALUES ($1, $2, now() + interval '1 hour')`,
      [rows[0].id, sha256(token)]);

    const login = await formLogin(base, '127.0.1.2', 'legacy', 'legacy-pw');
    expect(login.status).toBe(302);
    const stored = (await env.pool.query('SELECT password FROM users WHERE id = $1', [rows[0].id])).rows[0].password as string;
    expect(stored).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(await verifyPassword('legacy-pw', stored)).toBe(true);

    expect((await requestFrom(base, '127.0.1.2', 'GET', '/api/v2/me/', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await requestFrom(base, '127.0.1.2', 'GET', '/api/v2/me/', { cookie: login.cookie! })).status).toBe(200);
    expect((await requestFrom(base, '127.0.1.2', 'GET', '/api/v2/me/', { authorization: basicHeader('legacy', 'legacy-pw') })).status).toBe(200);
  });
});
