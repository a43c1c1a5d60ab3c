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

export interface ApiResponse { status: number; json: any; text: string; headers: Headers }

/** One JSON API call as a test makes it: body sent as JSON, reply parsed when it is JSON, redirects not followed. */
export async function apiRequest(baseUrl: string, method: string, path: string, body?: unknown,
  headers: Record<string, string> = {}): Promise<ApiResponse> {
  const res = await fetch(`${baseUrl}${path}`, { method, redirect: 'manual',
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined });
  const text = await res.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
  return { status: res.status, json, text, headers: res.headers };
}
