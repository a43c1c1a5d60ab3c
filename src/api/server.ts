import uWS from '@trufflesuite/uws-js-unofficial';
import { version } from '../paths.js';
import type { ApiContext } from './context.js';
import { requireWriter } from './auth.js';
import { notFound, RequestGate, Router, uwsHandler } from './http.js';
import { log } from '../log.js';
import { isConsoleMatch, registerConsole } from './routes/console.js';
import { registerMe } from './routes/me.js';
import { registerPing } from './routes/ping.js';
import { registerJobEvents } from './routes/job-events.js';
import { registerStdout } from './routes/stdout.js';
import { registerMetrics } from './routes/metrics.js';
import { registerDeadLetters } from './routes/dead-letters.js';
import { registerConfig } from './routes/config.js';
import { registerDashboard } from './routes/dashboard.js';
import { registerLaunch } from './routes/launch.js';
import { registerAdHocCommands } from './routes/ad-hoc-commands.js';
import { registerSystemJobTemplates } from './routes/system-job-templates.js';
import { registerLogin } from './routes/login.js';
import { registerObjectActions } from './routes/object-actions.js';
import { registerCredentialTests } from './routes/credential-tests.js';
import { registerResources } from './routes/resources.js';
import { registerTokens } from './routes/tokens.js';
import { registerOAuth2 } from './routes/oauth2.js';
import { registerBulk } from './routes/bulk.js';
import { registerLicense } from './routes/license.js';
import { registerInstanceHealth } from './routes/instance-health.js';
import { registerWebhooks } from './routes/webhooks.js';
import { registerCallbacks } from './routes/callbacks.js';
import { registerWorkflows } from './routes/workflows.js';
import { registerVariableData } from './routes/variable-data.js';
import { setRouteCheck } from './engine/routed.js';
import { plainOptions } from './engine/options.js';
import { attachWebsocket } from './ws/endpoint.js';
import { ReadCache } from './cache/read-cache.js';

/**
 * The web process's server: one uWS app carrying the REST API (and, as parts arrive, the
 * websocket endpoint and the console's static files). Each part registers its routes
 * here; nothing else knows about uWS.
 */
export interface WebServer {
  port: number;
  /** Resolves once this server has heard every change committed before the call (read-cache.ts settle()). */
  settled(): Promise<void>;
  /**
   * Stops listening and refuses later requests (503); resolves once the requests running
   * have answered (at most STOP_DRAIN_MS), so the pool can be ended under none of them.
   */
  close(): Promise<void>;
}

/** Within the supervisor's 10 s between SIGTERM and SIGKILL. */
const STOP_DRAIN_MS = 5000;

export function buildRouter(): Router<ApiContext> {
  const router = new Router<ApiContext>();
  registerPing(router);
  registerMe(router);
  registerJobEvents(router);
  registerStdout(router);
  registerMetrics(router);
  registerDeadLetters(router);
  registerLogin(router);
  registerConfig(router);
  registerDashboard(router);
  registerTokens(router);
  registerOAuth2(router);
  registerBulk(router);
  registerLicense(router);
  registerInstanceHealth(router);
  registerLaunch(router);
  registerWebhooks(router);
  registerCallbacks(router);
  registerAdHocCommands(router);
  registerSystemJobTemplates(router);
  registerObjectActions(router);
  registerVariableData(router);
  registerCredentialTests(router);
  registerResources(router);
  registerWorkflows(router);
  registerConsole(router); // a catch-all for the console's deep links: keep it last
  // A related link is shown only where a route answers it (engine/routed.ts); the console's catch-all does not count.
  // Where only the console's catch-all matches, OPTIONS is a 404: a page, not an API view.
  router.optionsFallback((allowed) => {
    const answer = plainOptions(allowed);
    return (req, ctx) => { if (isConsoleMatch(req.params)) throw notFound(); return answer(req, ctx); };
  });
  setRouteCheck((path) => ['GET', 'POST'].some((method) => {
    const m = router.match(method, path);
    return !!m && 'handler' in m && !isConsoleMatch(m.params);
  }));
  return router;
}

/** `readCache`: one the caller made (tests drive one by hand); default one sized by PLAYSTREAM_API_CACHE_MB, started here. */
export async function startWebServer(runtime: ApiContext, options: { host: string; port: number; readCache?: ReadCache }): Promise<WebServer> {
  let readCache = options.readCache;
  if (!readCache && runtime.config.databaseUrl) {
    readCache = new ReadCache(runtime.config.apiCacheMb * 1024 * 1024);
    await readCache.start(runtime.config.databaseUrl);
  }
  const ctx: ApiContext = { ...runtime, readCache };
  const app = uWS.App();
  const router = buildRouter();
  const node = ctx.config.nodeName;
  const websocket = attachWebsocket(app, ctx);
  const gate = new RequestGate();
  app.any('/*', uwsHandler(router, ctx, {
    gate,
    decorate: (headers, startedAt) => {
      headers['x-api-product-name'] = 'Playstream';
      headers['x-api-product-version'] = version;
      headers['x-api-node'] = node;
      headers['x-api-time'] = `${((performance.now() - startedAt) / 1000).toFixed(3)}s`;
    },
    afterUnsafe: () => readCache?.settle(ctx.pool),
    // Every route with a body needs a caller who may write, except those marked anonymousBody (login, logout).
    admitBody: async (req, c) => { await requireWriter(req, c); },
  }));
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => socket ? resolve(socket) : reject(
      new Error(`cannot listen on ${options.host}:${options.port} (in use?)`)));
  });
  await websocket.ready;
  return {
    port: uWS.us_socket_local_port(listenSocket),
    settled: async () => { await readCache?.settle(ctx.pool); },
    close: async () => {
      websocket.close();
      uWS.us_listen_socket_close(listenSocket);
      const running = await gate.close(STOP_DRAIN_MS);
      if (running) log.warn('stopped with requests still running', { running, waitedMs: STOP_DRAIN_MS });
      void readCache?.close();
    },
  };
}
