import { grantRole as grantRoleRow } from '../../src/api/resources/common.js';
import { startWebServer, type WebServer } from '../../src/api/server.js';
import type { Queryable } from '../../src/api/engine/resource.js';
import { onCleanup, type TestEnv } from './harness.js';

const running = new Set<WebServer>();

/** Starts the web server in this test process on a free port; closed after the file. */
export async function startTestWeb(env: TestEnv): Promise<{ url: string; port: number }> {
  const server = await startWebServer(env, { host: '127.0.0.1', port: 0 });
  running.add(server);
  onCleanup(async () => { running.delete(server); await server.close(); });
  return { url: `http://127.0.0.1:${server.port}`, port: server.port };
}

/**
 * Waits until this file's web servers have heard every change committed so far. A test that
 * writes roles straight into the database (as another node would) and then asks the API must
 * wait for this: the server's cached grants follow the change once its NOTIFY arrives, a
 * moment later, and under a loaded machine the next request could come first.
 */
export async function webHeard(): Promise<void> {
  await Promise.all([...running].map((s) => s.settled()));
}

/** grantRole (resources/common.ts), then webHeard(): the next request sees the role. */
export async function grantRole(db: Queryable, type: string, id: number, field: string, userId: number): Promise<void> {
  await grantRoleRow(db, type, id, field, userId);
  await webHeard();
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

export const ADMIN_PASSWORD = 'admin-password';

/**
 * The set-up most API tests share: a test environment seeded as a first start (admin,
 * Default organization, Demo project, inventory and template), its web server, and an
 * `api()` that calls it as the admin (or with the headers given).
 */
export type ApiCall = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse>;

export async function useSeededWeb(): Promise<{ t: TestEnv; url: string; api: ApiCall }> {
  const { useTestEnv } = await import('./harness.js');
  const { seedFirstStart } = await import('../../src/db/seed.js');
  const t = await useTestEnv();
  await seedFirstStart(t.pool, { dataDir: t.dataDir, adminPassword: ADMIN_PASSWORD });
  const { url } = await startTestWeb(t);
  const admin = basicAuth('admin', ADMIN_PASSWORD);
  return { t, url, api: (method, path, body, headers = admin) => apiRequest(url, method, path, body, headers) };
}
