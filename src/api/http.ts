import { InvalidFilter } from '../db/lookups.js';
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
 *
 * A request body costs memory only once the caller is known. In order: the route is
 * matched (404/405 read nothing); a declared Content-Length over the route's cap is 413
 * from the headers; the socket is paused and `admitBody` authenticates from the headers
 * (401/403/429 answered without reading on, and the connection closed so the client
 * cannot keep streaming); only then is the body read, and a chunked one that grows past
 * the cap is cut off with 413. What arrives with the headers before the pause takes hold
 * (one socket read: ~128 KB measured with a 4 MB POST) is held meanwhile and dropped on
 * refusal. The cap is DEFAULT_MAX_BODY_BYTES unless the route sets `maxBody`; routes marked
 * `anonymousBody` (the login form, whose credentials are in the body) skip `admitBody`
 * and carry a small cap instead.
 */

/**
 * 1 MiB: the largest bodies AWX clients send are job template or inventory variables and
 * survey specs, a few KB to a few hundred; Django's own default cap is 2.5 MB.
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface RouteOptions {
  /** Largest body accepted, bytes (default DEFAULT_MAX_BODY_BYTES). */
  maxBody?: number;
  /** The body is read without `admitBody` first: the route authenticates from the body itself. */
  anonymousBody?: boolean;
}

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
  /** Extra response headers (Retry-After on a 429). */
  readonly headers?: Record<string, string>;
  constructor(status: number, body: unknown, headers?: Record<string, string>) {
    super(status === 401 || status === 429 ? 'PS_ERR_AUTH' : status === 403 ? 'PS_ERR_PERMISSION' : status === 404 ? 'PS_ERR_NOT_FOUND' : 'PS_ERR_VALIDATION',
      typeof body === 'object' && body && 'detail' in body ? String((body as { detail: unknown }).detail) : `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

export const notFound = () => new HttpError(404, { detail: 'Not found.' });
export const unauthorized = () => new HttpError(401, { detail: 'Authentication credentials were not provided.' });
export const forbidden = () => new HttpError(403, { detail: 'You do not have permission to perform this action.' });
export const badRequest = (body: unknown) => new HttpError(400, body);

interface Route<C> { method: string; segments: string[]; handler: Handler<C>; options: RouteOptions }

export interface RouteMatch<C> { handler: Handler<C>; params: Record<string, string>; options: RouteOptions }

export class Router<C> {
  #routes: Route<C>[] = [];
  #options?: (allowed: string[]) => Handler<C>;

  /** Answers OPTIONS on a path that has routes but no OPTIONS route of its own (DRF answers it on every view). */
  optionsFallback(make: (allowed: string[]) => Handler<C>): this {
    this.#options = make;
    return this;
  }

  add(method: string, pattern: string, handler: Handler<C>, options: RouteOptions = {}): this {
    this.#routes.push({ method: method.toUpperCase(), segments: split(pattern), handler, options });
    return this;
  }

  get(pattern: string, handler: Handler<C>): this { return this.add('GET', pattern, handler); }
  post(pattern: string, handler: Handler<C>, options?: RouteOptions): this { return this.add('POST', pattern, handler, options); }
  put(pattern: string, handler: Handler<C>, options?: RouteOptions): this { return this.add('PUT', pattern, handler, options); }
  patch(pattern: string, handler: Handler<C>, options?: RouteOptions): this { return this.add('PATCH', pattern, handler, options); }
  delete(pattern: string, handler: Handler<C>, options?: RouteOptions): this { return this.add('DELETE', pattern, handler, options); }

  /** The handler and captured params for method + path; `allowed` lists methods when only the method is wrong. */
  match(method: string, path: string): RouteMatch<C> | { allowed: string[] } | undefined {
    const segments = split(path);
    const allowed: string[] = [];
    let first: Record<string, string> | undefined;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { handler: route.handler, params, options: route.options };
      allowed.push(route.method);
      first ??= params;
    }
    if (method === 'OPTIONS' && first && this.#options) return { handler: this.#options([...new Set(allowed)]), params: first, options: {} };
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

export interface HandlerHooks<C> {
  /** Adds headers every response carries (AWX's X-API-* headers). */
  decorate: (headers: Record<string, string>, startedAt: number) => void;
  /**
   * Runs when the handler of a request with an unsafe method settles, before its reply is
   * written (the read cache hears what the request changed, so the client's next read
   * sees its write).
   */
  afterUnsafe?: () => Promise<void> | void;
  /** Before a body is read: throws an HttpError (401, 403, 429) to answer without reading it. */
  admitBody?: (req: ApiRequest, ctx: C) => Promise<void>;
  /** Counts the requests in flight; once closed, later requests are refused (see RequestGate). */
  gate?: RequestGate;
}

/**
 * The requests in flight, for a graceful stop. Closing the listening socket stops new
 * connections only: open keep-alive connections still bring requests, which would then run
 * against a database pool being ended (a 500 each). Once the gate is closed such a request
 * is answered 503 and its connection closed, so the client retries elsewhere (or after the
 * restart), and `close()` waits, up to a bound, for the requests already running to answer.
 */
export class RequestGate {
  private inFlight = 0;
  private closed = false;
  private waiters: (() => void)[] = [];

  /** False once closed: the request is to be refused. */
  enter(): boolean {
    if (this.closed) return false;
    this.inFlight++;
    return true;
  }

  leave(): void {
    if (--this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Refuses requests from now on; resolves when none is running or after `timeoutMs`, with how many still are. */
  async close(timeoutMs: number): Promise<number> {
    this.closed = true;
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); })]);
      clearTimeout(timer);
    }
    return this.inFlight;
  }
}

const SHUTTING_DOWN = JSON.stringify({ detail: 'The server is shutting down; retry the request.' });

const bodyTooLarge = (cap: number): Reply => ({ status: 413, body: { detail: `Request body larger than ${cap} bytes.` } });

/** Adapts a Router to a uWS `any('/*')` handler. */
export function uwsHandler<C>(router: Router<C>, ctx: C, hooks: HandlerHooks<C>) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const startedAt = performance.now();
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const headers: Record<string, string> = {};
    req.forEach((k, v) => { headers[k] = v; });
    const query = new URLSearchParams(req.getQuery() ?? '');
    if (hooks.gate && !hooks.gate.enter()) {
      res.cork(() => {
        res.writeStatus(statusLine(503));
        res.writeHeader('content-type', 'application/json');
        res.end(SHUTTING_DOWN, true); // uWS adds `Connection: close`
      });
      return;
    }
    // The request holds the gate until its answer is written (a streamed one: to its end) or
    // the client is gone, and while its handler runs: a handler still querying after its
    // client left would otherwise meet the pool ended under it.
    let holds = 1;
    const release = () => { if (--holds === 0) hooks.gate?.leave(); };
    let answerHeld = true;
    const answerDone = () => { if (answerHeld) { answerHeld = false; release(); } };
    const state = { aborted: false, answered: false, streaming: false, bodyPending: false, drainWaiters: [] as (() => void)[], answerDone };
    res.onAborted(() => {
      state.aborted = true;
      for (const w of state.drainWaiters.splice(0)) w();
      if (!state.streaming) answerDone();
    });
    // The peer's address costs a getpeername (~16 µs: a fifth of a bare request's CPU), so it
    // is read when asked (basic auth, login, callbacks), once. A request aborted (or answered)
    // first has no socket left to ask: it reads 'gone', one shared bucket for the throttle.
    let peer: string | undefined;
    const remoteAddress = (): string => {
      if (peer === undefined) {
        try { peer = state.aborted ? 'gone' : Buffer.from(res.getRemoteAddressAsText()).toString(); } catch { peer = 'gone'; }
      }
      return peer;
    };

    const finish = (reply: Reply) => {
      if (state.aborted || state.answered) return;
      state.answered = true;
      const out = { ...reply.headers };
      hooks.decorate(out, startedAt);
      if (reply.stream) {
        state.streaming = true;
        return void streamReply(res, reply, out, state);
      }
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
        // Answered before its body was read: close, or the client keeps sending it.
        res.end(method === 'HEAD' ? '' : body, state.bodyPending);
      });
      answerDone();
    };
    const fail = (err: unknown) => {
      if (err instanceof HttpError) return finish({ status: err.status, headers: err.headers, body: err.body });
      if (err instanceof InvalidFilter) return finish({ status: 400, body: { detail: err.message } });
      log.error('request failed', { method, path, err: (err as Error).stack ?? err });
      finish({ status: 500, body: { detail: 'A server error has occurred.' } });
    };

    const matched = router.match(method, path);
    const declared = Number(headers['content-length'] ?? 0);
    state.bodyPending = method !== 'GET' && method !== 'HEAD' && (declared > 0 || headers['transfer-encoding'] !== undefined);
    if (!matched) return finish({ status: 404, body: { detail: 'Not found.' } });
    if ('allowed' in matched) {
      return finish({ status: 405, headers: { allow: matched.allowed.join(', ') }, body: { detail: `Method "${method}" not allowed.` } });
    }
    const request: ApiRequest = { method, path, query, headers, params: matched.params, body: Buffer.alloc(0), get remoteAddress() { return remoteAddress(); } };
    const unsafe = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
    const run = async () => {
      holds++;
      try {
        const reply = await matched.handler(request, ctx);
        if (unsafe) await hooks.afterUnsafe?.();
        finish(reply);
      } catch (err) {
        if (unsafe) await hooks.afterUnsafe?.();
        fail(err);
      } finally {
        release();
      }
    };
    if (!state.bodyPending) return void run();

    const cap = matched.options.maxBody ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isSafeInteger(declared) || declared > cap) return finish(bodyTooLarge(cap));
    const chunks: Buffer[] = [];
    let size = 0;
    let complete = false;
    let admitted = false;
    // uWS drops body data that arrives with no handler attached: attach it now, then pause.
    res.onData((chunk, isLast) => {
      if (state.answered || state.aborted) return;
      size += chunk.byteLength;
      if (size > cap) return finish(bodyTooLarge(cap));
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(Buffer.from(chunk)));
      if (!isLast) return;
      complete = true;
      state.bodyPending = false;
      if (admitted) { request.body = Buffer.concat(chunks); void run(); }
    });
    const admit = matched.options.anonymousBody || !hooks.admitBody ? Promise.resolve() : hooks.admitBody(request, ctx);
    res.pause();
    // Resumed whatever the outcome: a paused socket would not read the connection's next request.
    const resume = () => { if (!state.aborted && !state.answered) res.resume(); };
    admit.then(() => {
      resume();
      if (state.answered || state.aborted) return;
      admitted = true;
      if (complete) { request.body = Buffer.concat(chunks); void run(); }
    }, (err) => {
      resume();
      chunks.length = 0;
      fail(err);
    });
  };
}

/** A header value with newlines is several headers of that name (two Set-Cookie lines at login). */
function writeHeaders(res: HttpResponse, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) for (const line of v.split('\n')) res.writeHeader(k, line);
}

function streamReply(res: HttpResponse, reply: Reply, headers: Record<string, string>,
  state: { aborted: boolean; drainWaiters: (() => void)[]; answerDone: () => void }): void {
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
  ).finally(state.answerDone);
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
