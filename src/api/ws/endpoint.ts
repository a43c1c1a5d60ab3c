import crypto from 'node:crypto';
import uWS, { type TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { log } from '../../log.js';
import { WatchAnnouncer } from '../../pipeline/watched-groups.js';
import { redisKeys } from '../../redis-keys.js';
import { type Authentication, type AuthenticatedUser, authenticateRequest, csrfTokenMatches, parseCookieHeader } from '../auth.js';
import type { ApiContext } from '../context.js';
import { type ApiRequest, HttpError, statusLine } from '../http.js';
import { subscribeBus } from './bus-subscriber.js';
import { type ClientData, WsClient } from './client.js';
import { Hub } from './hub.js';
import { startLiveFigures } from './live-figures.js';
import { handleClientMessage } from './subscribe.js';

/**
 * `/websocket/` and `/api/websocket/`: AWX's live channel on uWebSockets.js.
 *
 * Upgrade: the request's headers go through the same authenticate() as the REST API
 * (session cookie, basic, bearer); no user means 403, as AWX refuses an anonymous socket
 * before accepting it. Open: `{"accept": true, "user": id}`. Messages: subscribe.ts.
 * Frames flow bus → Hub → per-client GroupQueues → socket (client.ts), and the socket's
 * `drain` pulls more.
 */
export interface WebsocketEndpoint {
  hub: Hub;
  /** Resolves once this node listens on the broadcast bus. */
  ready: Promise<void>;
  close(): void;
}

const PATHS = ['/websocket/', '/websocket', '/api/websocket/', '/api/websocket'];
/**
 * uWS drops a send past maxBackpressure; our drain loop stops at 256 KB buffered plus one
 * frame (a batch of ≤ 256 events), so 16 MB is never reached and uWS never drops silently.
 */
const MAX_BACKPRESSURE = 16 * 1024 * 1024;

/**
 * Who opens the socket, and the CSRF token its subscribe messages must carry as `xrftoken`.
 * For a session that is the `csrftoken` cookie (AWX keeps the cookie seen at connect), but
 * only if it is the token bound to the session at login: a cookie planted from a sibling
 * domain ("cookie tossing") then yields no usable token and every subscribe is refused.
 */
async function upgradeAuthentication(req: ApiRequest, ctx: ApiContext): Promise<{ user: AuthenticatedUser; via: Authentication['via']; csrf: string | undefined } | undefined> {
  const auth = await authenticateRequest(req, ctx);
  if (!auth) return undefined;
  let csrf: string | undefined = parseCookieHeader(req.headers.cookie).csrftoken;
  if (auth.via === 'session' && csrf !== undefined && !(await csrfTokenMatches(req, ctx, csrf))) {
    log.warn('websocket csrftoken cookie is not the session\'s token', { user: auth.user.username });
    csrf = undefined;
  }
  return { user: auth.user, via: auth.via, csrf };
}

export function attachWebsocket(app: TemplatedApp, ctx: ApiContext): WebsocketEndpoint {
  const config = ctx.config;
  if (!config.redisUrl) throw new Error('the websocket endpoint needs REDIS_URL for the broadcast bus');
  const keys = redisKeys(config);
  const channel = keys.broadcastChannel;
  // The receivers build event frames only for groups some node watches (watched-groups.ts).
  const instance = `${config.nodeName}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  const hub: Hub = new Hub({ overflowCloseMs: config.wsOverflowCloseSeconds * 1000, overflowLogMs: 10_000 }, () => announcer.sync());
  const announcer = new WatchAnnouncer(ctx.redis, keys, instance, () => hub.groups.keys());
  const bus = subscribeBus(config.redisUrl, { json: channel, frames: keys.eventFrameChannel },
    { wants: (g) => hub.wants(g), deliver: (g, frames, counters) => hub.dispatch(g, frames, counters) });
  const stopFigures = startLiveFigures({ hub, redis: ctx.redis, channel, node: config.nodeName });

  const behavior: uWS.WebSocketBehavior<ClientData> = {
    compression: uWS.DISABLED,
    maxPayloadLength: 64 * 1024,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const headers: Record<string, string> = {};
      req.forEach((k, v) => { headers[k] = v; });
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const apiRequest: ApiRequest = {
        method: 'GET', path: req.getUrl(), query: new URLSearchParams(req.getQuery() ?? ''), headers, params: {},
        body: Buffer.alloc(0), remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      };
      let aborted = false;
      res.onAborted(() => { aborted = true; });
      upgradeAuthentication(apiRequest, ctx).then((auth) => {
        if (aborted) return;
        if (!auth) {
          res.cork(() => res.writeStatus('403 Forbidden').end());
          return;
        }
        const data: ClientData = { user: auth.user, csrfCookie: auth.csrf, headerAuth: auth.via !== 'session' };
        res.cork(() => res.upgrade(data, key, protocol, extensions, context));
      }, (err) => {
        if (aborted) return;
        // Refusals the REST API would answer (429 while a username is locked, 503) keep their status and headers.
        if (err instanceof HttpError) {
          res.cork(() => {
            res.writeStatus(statusLine(err.status));
            for (const [k, v] of Object.entries(err.headers ?? {})) res.writeHeader(k, v);
            res.end();
          });
          return;
        }
        log.error('websocket authentication failed', { err: (err as Error).stack ?? err });
        res.cork(() => res.writeStatus('500 Internal Server Error').end());
      });
    },
    open: (ws) => {
      const client = new WsClient(ws, config.wsQueueSize);
      ws.getUserData().client = client;
      hub.add(client);
      // Not from inside `open`: reached from the corked async upgrade above, a send there can
      // leave the socket closed dirty right after it opens (uWebSockets.js issue 1108; the
      // test suite saw a socket answer nothing after its accept, twice in ~10 full runs).
      setImmediate(() => { if (!client.closed) ws.cork(() => client.sendNow({ accept: true, user: client.user.id })); });
    },
    message: (ws, message) => {
      const client = ws.getUserData().client!;
      const raw = Buffer.from(message).toString('utf8');
      client.inbox = client.inbox.then(() => handleClientMessage(client, raw, ctx, hub)).catch((err) => {
        log.error('websocket message failed', { err: (err as Error).stack ?? err });
      });
    },
    drain: (ws) => {
      const client = ws.getUserData().client;
      if (client) hub.drained(client);
    },
    close: (ws) => {
      const client = ws.getUserData().client;
      if (!client) return;
      client.closed = true;
      hub.remove(client);
    },
  };
  for (const path of PATHS) app.ws<ClientData>(path, behavior);

  let closed = false;
  return {
    hub,
    ready: bus.ready,
    close: () => {
      if (closed) return;
      closed = true;
      bus.close();
      void announcer.close();
      stopFigures();
      hub.close();
      for (const client of [...hub.clients]) {
        if (!client.closed) client.ws.end(1001, 'server shutting down');
      }
    },
  };
}
