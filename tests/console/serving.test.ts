import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { consoleDistDir } from '../../src/paths.js';
import { useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';

/** The web process serves the built console at `/` (npm test's pretest builds it). */
describe('console static serving', () => {
  let base: string;
  beforeAll(async () => {
    const env = await useTestEnv();
    base = (await startTestWeb(env)).url;
  });

  it('serves index.html at / and at deep links, with the app bundle', async () => {
    for (const p of ['/', '/jobs', '/jobs/job/42/output', '/templates/job_template/7/launch']) {
      const res = await fetch(`${base}${p}`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<script type="module" src="/app.js"></script>');
    }
  });

  it('serves assets with their content types, gzip and a revalidating ETag', async () => {
    const js = await fetch(`${base}/app.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const body = Buffer.from(await js.arrayBuffer());
    expect(body.equals(fs.readFileSync(path.join(consoleDistDir, 'app.js')))).toBe(true);
    const etag = js.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${base}/app.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    // fetch would decode gzip itself: undici's request hands back the bytes as sent.
    const gz = await request(`${base}/app.css`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(gz.headers['content-encoding']).toBe('gzip');
    const css = gunzipSync(Buffer.from(await gz.body.arrayBuffer())).toString();
    expect(css).toContain('.output-scroll');
  });

  it('keeps the API and websocket paths out of the fallback, and a missing asset is 404', async () => {
    const api = await fetch(`${base}/api/v2/no_such_thing/`);
    expect(api.status).toBe(404);
    expect(api.headers.get('content-type')).toContain('application/json');
    expect(await fetch(`${base}/missing.js`).then((r) => r.status)).toBe(404);
    expect(await fetch(`${base}/../../etc/passwd`).then((r) => r.status)).not.toBe(500);
  });

  it('keeps the bundle (JS + CSS, gzipped) under the 150 KB budget', () => {
    const size = ['app.js', 'app.css'].reduce((n, f) => n + gzipSizeOf(path.join(consoleDistDir, f)), 0);
    expect(size).toBeLessThan(150 * 1024);
  });
});

function gzipSizeOf(file: string): number {
  return gzipSync(fs.readFileSync(file), { level: 9 }).length;
}
