import { log } from '../log.js';
import { createRuntime, reportReady } from '../runtime.js';
import { startWebServer } from './server.js';

/** `playstream web`: the API, websocket and console server. */
export async function runWeb(): Promise<void> {
  const rt = await createRuntime('web');
  const server = await startWebServer(rt, { host: rt.config.host, port: rt.config.port });
  rt.onShutdown(() => server.close());
  log.info('web listening', { url: `http://${rt.config.host}:${server.port}/` });
  reportReady({ port: server.port });
}
