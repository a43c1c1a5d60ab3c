import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { consoleDistDir } from '../../paths.js';
import type { ApiContext } from '../context.js';
import { type ApiRequest, notFound, type Reply, type Router } from '../http.js';

/**
 * Serves the console (dist/console) at `/`. Any GET that is not an API, websocket or asset
 * path answers with index.html so the console's own router can take deep links such as
 * `/jobs/42/output`.
 *
 * The bundle's names are not content-hashed (esbuild entry `app`), so every file is served
 * `no-cache` with a strong ETag: a reload costs one 304 round trip per file, and a new
 * build is never hidden behind a stale cache. Files are read once per mtime and kept with a
 * gzip copy (~4x smaller for the JS), since uWS does not compress.
 */

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

interface CachedFile { mtimeMs: number; body: Buffer; gzip: Buffer | undefined; etag: string }
const cache = new Map<string, CachedFile>();

/** Paths the console never answers: the API and websocket keep their own 404s. */
const RESERVED = /^\/(api|websocket|sso|metrics)(\/|$)/;
/** The deepest console route is `/templates/job_template/7/launch`; 8 segments leave room. */
const MAX_DEPTH = 8;

function readCached(file: string): CachedFile | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit;
  const body = fs.readFileSync(file);
  // Below ~1 KB gzip saves less than its header and the CPU it costs.
  const gzip = body.length > 1024 && /\.(html|js|css|map|json|svg|txt)$/.test(file) ? zlib.gzipSync(body, { level: 9 }) : undefined;
  const etag = `"${crypto.createHash('sha1').update(body).digest('base64url')}"`;
  const entry = { mtimeMs: stat.mtimeMs, body, gzip, etag };
  cache.set(file, entry);
  return entry;
}

function serveFile(req: ApiRequest, file: string): Reply | undefined {
  const entry = readCached(file);
  if (!entry) return undefined;
  const headers: Record<string, string> = {
    'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    etag: entry.etag,
    vary: 'Accept-Encoding',
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === entry.etag) return { status: 304, headers };
  if (entry.gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
    headers['content-encoding'] = 'gzip';
    return { status: 200, headers, body: entry.gzip };
  }
  return { status: 200, headers, body: entry.body };
}

export function consoleHandler(distDir: string) {
  return (req: ApiRequest): Reply => {
    if (RESERVED.test(req.path)) throw notFound();
    const rel = path.normalize(decodeURIComponent(req.path)).replace(/^(\.\.[/\\])+/, '');
    const file = path.join(distDir, rel);
    if (file.startsWith(distDir + path.sep) && path.extname(file)) {
      const reply = serveFile(req, file);
      if (reply) return reply;
      // A missing asset is a 404, not the app: a script tag must not receive HTML.
      throw notFound();
    }
    const index = serveFile(req, path.join(distDir, 'index.html'));
    if (!index) {
      return { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'The console is not built: run `npm run build`.\n' };
    }
    return index;
  };
}

/** Whether a match's params are the console catch-all's (`:p1/:p2...`): a page, not an API view. */
export function isConsoleMatch(params: Record<string, string>): boolean {
  return 'p1' in params;
}

/** Registers the console's catch-all GET routes; register it after every other route. */
export function registerConsole(router: Router<ApiContext>, distDir = consoleDistDir): void {
  const handler = consoleHandler(distDir);
  let pattern = '';
  router.get('/', handler);
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    pattern += `/:p${depth}`;
    router.get(pattern, handler);
  }
}
