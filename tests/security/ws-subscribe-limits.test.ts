import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { basic, createJob, createUser, TestClient } from '../ws/ws-client.js';

/**
 * What one websocket subscribe message may cost: its ids are counted before anything is
 * looked up (at most 1000 groups, refused with an error naming the cap), and the read
 * check of all requested jobs is one query (plus the caller's grants), whatever their
 * number. The server runs in this process, so its queries go through env.pool and are
 * counted there. The `metrics` group is for superusers and system auditors only, as
 * /api/v2/metrics/ is.
 */
let env: TestEnv;
let wsUrl: string;
let bobJobs: number[];
let otherJob: number;
let queries = 0;
let restore: (() => void) | undefined;

beforeAll(async () => {
  env = await useTestEnv();
  const bobId = await createUser(env.pool, 'bob', 'bob-pw');
  await createUser(env.pool, 'root', 'root-pw', true);
  const auditor = await createUser(env.pool, 'audrey', 'audrey-pw');
  await env.pool.query('UPDATE users SET is_system_auditor = true WHERE id = $1', [auditor]);
  const { rows } = await env.pool.query<{ id: number }>(
    `INSERT INTO unified_jobs (kind, name, status, created_by_id) SELECT 'job', 'mine', 'running', $1 FROM generate_series(1, 300) RETURNING id`, [bobId]);
  bobJobs = rows.map((r) => r.id);
  otherJob = (await createJob(env.pool, null)).id;
  const web = await startTestWeb(env);
  wsUrl = `ws://127.0.0.1:${web.port}/websocket/`;
});

afterEach(() => restore?.());

/** Counts the queries the server sends through the test's pool from now on. */
function countQueries(): void {
  const original = env.pool.query;
  queries = 0;
  env.pool.query = ((...args: unknown[]) => { queries++; return (original as (...a: unknown[]) => unknown).apply(env.pool, args); }) as typeof original;
  restore = () => { env.pool.query = original; restore = undefined; };
}

async function connect(username: string, password: string): Promise<TestClient> {
  const c = await TestClient.connect(wsUrl, { authorization: basic(username, password) });
  await c.next((m) => m.accept === true);
  return c;
}

const reply = (m: Record<string, unknown>) => 'groups_current' in m || ('error' in m && !String(m.error).includes('resource id'));

describe('websocket subscription limits', () => {
  test('a message asking for more than 1000 groups is refused with an error naming the cap, before any query', async () => {
    const c = await connect('bob', 'bob-pw');
    countQueries();
    // 5,000 ids: ~29 KB, within the 64 KB frame limit (a larger frame closes the socket).
    const ids = Array.from({ length: 5000 }, (_, i) => i + 1);
    c.send({ groups: { job_events: ids } });
    const answer = await c.next(reply);
    expect(answer.error).toMatch(/1000/);
    expect(queries).toBe(0);
    c.send({ groups: { jobs: ['status_changed'] } });
    expect((await c.next(reply)).groups_current).toEqual(['jobs-status_changed']);
    c.close();
  });

  test('300 job ids are checked in at most two queries, denied ones named one by one', async () => {
    const c = await connect('bob', 'bob-pw');
    countQueries();
    c.send({ groups: { job_events: [...bobJobs, otherJob] } });
    const answer = await c.next((m) => 'groups_current' in m);
    expect(queries).toBeLessThanOrEqual(2);
    expect((answer.groups_current as string[]).length).toBe(300);
    expect(c.messages).toContainEqual({ error: `access denied to channel job_events for resource id ${otherJob}` });
    c.close();
  });

  test('only superusers and system auditors may join the metrics group', async () => {
    const bob = await connect('bob', 'bob-pw');
    bob.send({ groups: { metrics: ['websocket'], jobs: ['status_changed'] } });
    expect(await bob.next((m) => 'error' in m)).toEqual({ error: 'access denied to channel metrics' });
    const answer = await bob.next((m) => 'groups_current' in m);
    expect(answer.groups_current).toEqual(['jobs-status_changed']);
    bob.close();
    for (const [user, password] of [['root', 'root-pw'], ['audrey', 'audrey-pw']]) {
      const c = await connect(user, password);
      c.send({ groups: { metrics: ['websocket'] } });
      expect(new Set((await c.next(reply)).groups_current as string[])).toEqual(new Set(['metrics', 'metrics-websocket']));
      c.close();
    }
  });
});
