import { beforeAll, describe, expect, test } from 'vitest';
import { metrics } from '../../src/metrics.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { basicHeader, rawRequest } from './support.js';

/**
 * Request bodies cost memory only for callers who may send them: a declared length over
 * the route's cap is refused from the headers (413), an unauthenticated request is
 * refused (401) before a byte of its body is read, and a chunked body is cut off at the
 * cap. The raw requests here promise a body and never send it: a server that waits
 * for it answers nothing, and the test sees that as a timeout.
 */
let env: TestEnv;
let port: number;
const admin = basicHeader('root', 'root-pw');
const verifications = () => [...metrics.counter('auth_password_verifications_total', '').values.values()].reduce((a, b) => a + b, 0);

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'root', 'root-pw', true);
  ({ port } = await startTestWeb(env));
});

function head(method: string, path: string, headers: Record<string, string>): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

describe('request bodies', () => {
  test('a declared body over the 1 MiB cap is refused with 413 from the headers, before credentials are checked', async () => {
    for (const authorization of [admin, basicHeader('root', 'wrong')]) {
      const before = verifications();
      const answer = await rawRequest(port, head('POST', '/api/v2/organizations/',
        { authorization, 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) }));
      expect(answer?.status).toBe(413);
      expect(verifications()).toBe(before);
    }
  });

  test('an unauthenticated POST is answered 401 without its body being read', async () => {
    const requests: Record<string, string>[] = [
      { 'content-type': 'application/json', 'content-length': String(900 * 1024) },
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      { 'content-type': 'application/json', 'content-length': String(900 * 1024), authorization: basicHeader('root', 'wrong') },
      { 'content-type': 'application/json', 'content-length': String(900 * 1024), cookie: 'sessionid=not-a-session' },
    ];
    for (const headers of requests) {
      const answer = await rawRequest(port, head('POST', '/api/v2/organizations/', headers));
      expect(answer?.status, JSON.stringify(headers)).toBe(401);
    }
  });

  test('a chunked body that grows past the cap is cut off with 413', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const frames = Array.from({ length: 40 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    const answer = await rawRequest(port, head('POST', '/api/v2/organizations/',
      { authorization: admin, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }), { body: frames, timeoutMs: 10_000 });
    expect(answer?.status).toBe(413);
  });

  test('the login form, read before anyone is authenticated, is capped at 16 KiB', async () => {
    const answer = await rawRequest(port, head('POST', '/api/login/',
      { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(20 * 1024) }));
    expect(answer?.status).toBe(413);
  });

  test('an authenticated body within the cap is read and handled', async () => {
    // Fields a resource does not define are ignored, as DRF does: the padding only makes the body large.
    const body = JSON.stringify({ name: 'Within cap', padding: 'x'.repeat(900 * 1024) });
    const res = await fetch(`http://127.0.0.1:${port}/api/v2/organizations/`, { method: 'POST',
      headers: { authorization: admin, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(201);
  });
});
