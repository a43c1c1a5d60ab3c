import type { HttpRequest, HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';

/**
 * The HTTP layer between uWebSockets.js and our handlers. uWS hands us a request object
 * that is valid only until the handler returns, and a response that must not be touched
 * after the client aborts; this file copies what handlers need (method, path, query,
 * headers, body) into a plain ApiRequest, runs the async handler, and writes its Reply in
 * one cork. Handlers never see uWS.
 *
 * Routes are patterns of path segments (`/api/v2/jobs/:id/stdout/`); `:name` captures one
 * segment. A path without its trailing slash matches too, as Django's APPEND_SLASH lets it.
 */

export const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  params: Record<string, string>;
  body: Buffer;
  remoteAddress: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /**
   * For large bodies: called with a writer instead of sending `body`. The writer returns
   * false when the socket is backed up; await `drained()` before writing more.
   */
  stream?: (out: StreamWriter) => Promise<void>;
}

export interface StreamWriter {
  write(chunk: string | Buffer): boolean;
  drained(): Promise<void>;
  readonly aborted: boolean;
}

export type Handler<C> = (req: ApiRequest, ctx: C) => Promise<Reply> | Reply;

/** An error a handler throws to answer with a status and AWX-shaped body. */
export class HttpError extends PlaystreamError {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    super(status === 401 ? 'PS_ERR_AUTH' : status === 403 ? 'PS_ERR_PERMISSION' : status === 404 ? 'PS_ERR_NOT_FOUND' : 'PS_ERR_VALIDATION',
      typeof body === 'object' && body && 'detail' in body ? String((body as { detail: unknown }).detail) : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export const notFound = () => new HttpError(404, { detail: 'Not found.' });
export const unauthorized = () => new HttpError(401, { detail: 'Authentication credentials were not provided.' });
export const forbidden = () => new HttpError(403, { detail: 'You do not have permission to perform this action.' });
export const badRequest = (body: unknown) => new HttpError(400, body);

interface Route<C> { method: string; segments: string[]; handler: Handler<C> }

export class Router<C> {
  #routes: Route<C>[] = [];

  add(method: string, pattern: string, handler: Handler<C>): this {
    this.#routes.push({ method: method.toUpperCase(), segments: split(pattern), handler });
    return this;
  }

  get(pattern: string, handler: Handler<C>): this { return this.add('GET', pattern, handler); }
  post(pattern: string, handler: Handler<C>): this { return this.add('POST', pattern, handler); }
  put(pattern: string, handler: Handler<C>): this { return this.add('PUT', pattern, handler); }
  patch(pattern: string, handler: Handler<C>): this { return this.add('PATCH', pattern, handler); }
  delete(pattern: string, handler: Handler<C>): this { return this.add('DELETE', pattern, handler); }

  /** The handler and captured params for method + path; `allowed` lists methods when only the method is wrong. */
  match(method: string, path: string): { handler: Handler<C>; params: Record<string, string> } | { allowed: string[] } | undefined {
    const segments = split(path);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { handler: route.handler, params };
      allowed.push(route.method);
    }
    return allowed.length ? { allowed } : undefined;
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(actual[i]);
      } catch {
        return undefined;
      }
    } else if (p !== actual[i]) {
      return undefined;
    }
  }
  return params;
}

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK', 201: '201 Created', 202: '202 Accepted', 204: '204 No Content', 301: '301 Moved Permanently',
  302: '302 Found', 304: '304 Not Modified', 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden',
  404: '404 Not Found', 405: '405 Method Not Allowed', 409: '409 Conflict', 413: '413 Payload Too Large',
  429: '429 Too Many Requests', 500: '500 Internal Server Error', 503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? String(status);
}

/**
 * Adapts a Router to a uWS `any('/*')` handler. `decorate` adds headers every response
 * carries (AWX's X-API-* headers); `afterUnsafe` runs when the handler of a request with an
 * unsafe method settles, before its reply is written (the read cache forgets what the
 * request may have changed, so the client's next read sees its write).
 */
export function uwsHandler<C>(router: Router<C>, ctx: C, decorate: (headers: Record<string, string>, startedAt: number) => void,
  afterUnsafe?: () => void) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now();
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const headers: Record<string, string> = {};
    req.forEach((k, v) => { headers[k] = v; });
    const query = new URLSearchParams(req.getQuery() ?? '');
    const state = { aborted: false, drainWaiters: [] as (() => void)[] };
    res.onAborted(() => {
      state.aborted = true;
      for (const w of state.drainWaiters.splice(0)) w();
    });
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();

    const finish = (reply: Reply) => {
      if (state.aborted) return;
      const out = { ...reply.headers };
      decorate(out, startedAt);
      if (reply.stream) return void streamReply(res, reply, out, state);
      let body: string | Buffer = '';
      if (reply.body !== undefined && reply.status !== 204) {
        if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) {
          body = reply.body;
        } else {
          body = JSON.stringify(reply.body);
          out['content-type'] ??= 'application/json';
        }
      }
      res.cork(() => {
        res.writeStatus(statusLine(reply.status));
        writeHeaders(res, out);
        res.end(method === 'HEAD' ? '' : body);
      });
    };

    const run = async (body: Buffer) => {
      const matched = router.match(method, path);
      if (!matched) return finish({ status: 404, body: { detail: 'Not found.' } });
      if ('allowed' in matched) {
        return finish({ status: 405, headers: { allow: matched.allowed.join(', ') }, body: { detail: `Method "${method}" not allowed.` } });
      }
      const request: ApiRequest = { method, path, query, headers, params: matched.params, body, remoteAddress };
      const unsafe = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
      try {
        const reply = await matched.handler(request, ctx);
        if (unsafe) afterUnsafe?.();
        finish(reply);
      } catch (err) {
        if (unsafe) afterUnsafe?.();
        if (err instanceof HttpError) return finish({ status: err.status, body: err.body });
        log.error('request failed', { method, path, err: (err as Error).stack ?? err });
        finish({ status: 500, body: { detail: 'A server error has occurred.' } });
      }
    };

    if (method === 'GET' || method === 'HEAD' || method === 'DELETE' && !headers['content-length']) {
      void run(Buffer.alloc(0));
      return;
    }
    const declared = Number(headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      finish({ status: 413, body: { detail: `Request body larger than ${MAX_BODY_BYTES} bytes.` } });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        finish({ status: 413, body: { detail: `Request body larger than ${MAX_BODY_BYTES} bytes.` } });
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(Buffer.from(chunk)));
      if (isLast) void run(Buffer.concat(chunks));
    });
  };
}

/** A header value with newlines is several headers of that name (two Set-Cookie lines at login). */
function writeHeaders(res: HttpResponse, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) for (const line of v.split('\n')) res.writeHeader(k, line);
}

function streamReply(res: HttpResponse, reply: Reply, headers: Record<string, string>,
  state: { aborted: boolean; drainWaiters: (() => void)[] }): void {
  res.cork(() => {
    res.writeStatus(statusLine(reply.status));
    writeHeaders(res, headers);
  });
  res.onWritable(() => {
    for (const w of state.drainWaiters.splice(0)) w();
    return true;
  });
  const writer: StreamWriter = {
    write(chunk) {
      if (state.aborted) return false;
      let ok = false;
      res.cork(() => { ok = res.write(chunk); });
      return ok;
    },
    drained() {
      if (state.aborted) return Promise.resolve();
      return new Promise((resolve) => state.drainWaiters.push(resolve));
    },
    get aborted() { return state.aborted; },
  };
  reply.stream!(writer).then(
    () => { if (!state.aborted) res.cork(() => res.end()); },
    (err) => {
      log.error('streamed response failed', { err: (err as Error).stack ?? err });
      if (!state.aborted) res.close();
    },
  );
}

/** Parses a JSON body; an unparsable one is AWX's 400 `{"detail": "JSON parse error - ..."}`. */
export function jsonBody<T = Record<string, unknown>>(req: ApiRequest): T {
  if (req.body.length === 0) return {} as T;
  try {
    return JSON.parse(req.body.toString('utf8')) as T;
  } catch (err) {
    throw badRequest({ detail: `JSON parse error - ${(err as Error).message}` });
  }
}
