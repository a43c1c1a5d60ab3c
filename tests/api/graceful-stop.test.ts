import http from 'node:http';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startWebServer } from '../../src/api/server.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { onCleanup, useTestEnv } from '../support/harness.js';
import { basicAuth, ADMIN_PASSWORD } from '../support/web.js';

/**
 * Stopping the web process (a restart, a rolling upgrade): a request already running is
 * answered before the database pool is ended, and a request that still arrives on an open
 * keep-alive connection is told 503 (and its connection closed) instead of failing against
 * an ended pool with a 500 ("Cannot use a pool after calling end on the pool").
 */
function get(agent: http.Agent, port: number, path: string): Promise<{ status: number; body: any; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: basicAuth('admin', ADMIN_PASSWORD) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, connection: res.headers.connection }));
    });
    req.on('error', reject);
  });
}

/** A seeded web server and a Postgres lock that makes its organization list wait (a request in flight). */
async function serverWithHeldList() {
  const t = await useTestEnv();
  await seedFirstStart(t.pool, { dataDir: t.dataDir, adminPassword: ADMIN_PASSWORD });
  const server = await startWebServer(t, { host: '127.0.0.1', port: 0 });
  const state = { closed: false };
  onCleanup(async () => { if (!state.closed) await server.close(); });
  const locker = new pg.Client({ connectionString: t.databaseUrl });
  await locker.connect();
  onCleanup(() => locker.end());
  return {
    server, state, locker,
    async hold() {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE');
    },
    /** Resolves once a request waits on the lock in Postgres. */
    async waiting() {
      for (let i = 0; ; i++) {
        const { rows } = await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (rows[0].n > 0) return;
        if (i > 200) throw new Error('the list request never reached Postgres');
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop() { return Promise.resolve(server.close()).then(() => { state.closed = true; }); },
  };
}

describe('stopping the web server', () => {
  it('answers the requests in flight, refuses later ones with 503, and only then lets the pool end', async () => {
    const s = await serverWithHeldList();
    const port = s.server.port;
    // One keep-alive connection each: `busy` carries the request that is running at the
    // stop, `idle` one that is open and idle when it comes.
    const busy = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const idle = new http.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => { busy.destroy(); idle.destroy(); });
    expect((await get(busy, port, '/api/v2/ping/')).status).toBe(200);
    expect((await get(idle, port, '/api/v2/ping/')).status).toBe(200);

    await s.hold();
    const running = get(busy, port, '/api/v2/organizations/');
    await s.waiting();
    const stopping = s.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(s.state.closed, 'close() waits for the request still running').toBe(false);

    const late = await get(idle, port, '/api/v2/ping/');
    expect(late.status).toBe(503);
    expect(late.body.detail).toMatch(/shutting down/i);
    expect(late.connection).toBe('close');

    await s.locker.query('ROLLBACK');
    const answered = await running;
    expect(answered.status).toBe(200);
    expect(answered.body.count).toBeGreaterThanOrEqual(1);
    await stopping;
    expect(s.state.closed).toBe(true);
  });

  it('waits for a handler still running after its client hung up', async () => {
    const s = await serverWithHeldList();
    await s.hold();
    const agent = new http.Agent({ keepAlive: false });
    onCleanup(() => agent.destroy());
    const req = http.get({ host: '127.0.0.1', port: s.server.port, path: '/api/v2/organizations/', agent, headers: basicAuth('admin', ADMIN_PASSWORD) });
    req.on('error', () => {});
    await s.waiting();
    req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const stopping = s.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(s.state.closed, 'close() waits for the handler, not only for the client').toBe(false);
    await s.locker.query('ROLLBACK');
    await stopping;
    expect(s.state.closed).toBe(true);
  });
});
