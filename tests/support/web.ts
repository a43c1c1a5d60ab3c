import { startWebServer } from '../../src/api/server.js';
import { onCleanup, type TestEnv } from './harness.js';

/** Starts the web server in this test process on a free port; closed after the file. */
export async function startTestWeb(env: TestEnv): Promise<{ url: string; port: number }> {
  const server = await startWebServer(env, { host: '127.0.0.1', port: 0 });
  onCleanup(() => server.close());
  return { url: `http://127.0.0.1:${server.port}`, port: server.port };
}

export function basicAuth(username: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}
