import { beforeAll, describe, expect, it } from 'vitest';
import { seedApiScale, type ScaleSet } from '../../bench/api/seed.js';
import { hashPassword } from '../../src/security/passwords.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * Event pages: AWX's event filters (stdout__icontains among them) filter or answer 400,
 * and every page of a complete job — by page number, counter range, order — holds the
 * events a plain query gives, with the exact count, without counting the job.
 */
let env: TestEnv;
let url: string;
let set: ScaleSet;
const admin = basicAuth('scale-admin', 'scale-pw-2');
const EVENTS = 1000;

beforeAll(async () => {
  env = await useTestEnv();
  set = await seedApiScale(env.pool, { jobs: 20, templates: 4, hosts: 5, events: EVENTS }, await hashPassword('scale-pw-2'));
  ({ url } = await startTestWeb(env));
});

const get = (path: string) => apiRequest(url, 'GET', `/api/v2/jobs/${set.bigJobId}/job_events/${path}`, undefined, admin);

async function plain(where: string, order: string): Promise<number[]> {
  const { rows } = await env.pool.query(`SELECT counter FROM job_events WHERE job_id = $1 AND ${where} ORDER BY ${order}`, [set.bigJobId]);
  return rows.map((r) => r.counter);
}

describe('job event pages and filters', () => {
  it('stdout__icontains filters (it was ignored), with the exact count', async () => {
    const res = await get('?stdout__icontains=ITEM%20777&page_size=200');
    expect(res.status).toBe(200);
    const want = await plain(`stdout ILIKE '%item 777%'`, 'counter');
    expect(res.json.count).toBe(want.length);
    expect(res.json.results.map((e: { counter: number }) => e.counter)).toEqual(want);
    expect(want).toContain(777);
  });

  it('stdout__icontains matches as ILIKE does whatever the term: letters, digits, punctuation, LIKE wildcards, none of them', async () => {
    // Terms of caseless characters are matched case-sensitively first (lookups.ts): the same rows.
    for (const term of ['777', 'Item 77', 'OK: [HOST-0000', '"CHANGED": TRUE', '%', '_', '[host-00007.', 'Tâche', 'ok', '=> {']) {
      const res = await get(`?stdout__icontains=${encodeURIComponent(term)}&page_size=200`);
      expect(res.status, term).toBe(200);
      const { rows } = await env.pool.query(`SELECT counter FROM job_events WHERE job_id = $1 AND stdout ILIKE '%' || $2 || '%' ORDER BY counter`,
        [set.bigJobId, term.replace(/[\\%_]/g, (c) => `\\${c}`)]);
      const want = rows.map((r) => r.counter);
      expect(res.json.count, term).toBe(want.length);
      expect(res.json.results.map((e: { counter: number }) => e.counter), term).toEqual(want.slice(0, 200));
    }
  });

  it('AWX event filters: event, event__in, failed, changed, host_name, task__startswith, not__', async () => {
    const cases: [string, string][] = [
      ['event=runner_on_failed', `event = 'runner_on_failed'`],
      ['event__in=playbook_on_start,playbook_on_stats', `event IN ('playbook_on_start', 'playbook_on_stats')`],
      ['failed=true', 'failed'],
      ['changed=false&counter__lte=40', 'NOT changed AND counter <= 40'],
      ['host_name=host-00007.example.com', `host_name = 'host-00007.example.com'`],
      ['task__startswith=task%201', `task LIKE 'task 1%'`],
      ['not__event=runner_on_ok', `event <> 'runner_on_ok'`],
    ];
    for (const [q, where] of cases) {
      const res = await get(`?${q}&page_size=200`);
      expect(res.status, q).toBe(200);
      const want = await plain(where, 'counter');
      expect(res.json.count, q).toBe(want.length);
      expect(res.json.results.map((e: { counter: number }) => e.counter), q).toEqual(want.slice(0, 200));
    }
  });

  it('an unknown filter field is a 400 naming it, not ignored', async () => {
    const res = await get('?stdout__regex=x');
    expect(res.status).toBe(400);
    const bad = await get('?no_such_field=1');
    expect(bad.status).toBe(400);
    expect(bad.json.detail).toContain('no_such_field');
  });

  it('every page of a complete job, by number, counter range and order, matches a plain query', async () => {
    for (const [q, where, order] of [
      ['?page_size=37', 'true', 'counter'],
      ['?order_by=-counter&page_size=50', 'true', 'counter DESC'],
      ['?counter__gt=100&counter__lte=613&page_size=45', 'counter > 100 AND counter <= 613', 'counter'],
      ['?counter__gte=900&order_by=-counter&page_size=30', 'counter >= 900', 'counter DESC'],
      ['?order_by=-start_line&page_size=200', 'true', 'start_line DESC, counter DESC'],
      // Filtered: numbered in one pass over the job (filteredPage), paged from those numbers.
      ['?event=runner_on_failed&page_size=7', `event = 'runner_on_failed'`, 'counter'],
      ['?failed=true&order_by=-counter&page_size=3', 'failed', 'counter DESC'],
      ['?stdout__icontains=ITEM%201&order_by=-start_line&page_size=40', `stdout ILIKE '%item 1%'`, 'start_line DESC, counter DESC'],
    ] as const) {
      const want = await plain(where, order);
      const got: number[] = [];
      let path: string | null = `/api/v2/jobs/${set.bigJobId}/job_events/${q}`;
      let page = 1;
      while (path) {
        const res = await apiRequest(url, 'GET', path, undefined, admin);
        expect(res.status, path).toBe(200);
        expect(res.json.count, path).toBe(want.length);
        expect(res.json.previous === null).toBe(page++ === 1);
        got.push(...res.json.results.map((e: { counter: number }) => e.counter));
        path = res.json.next;
      }
      expect(got, q).toEqual(want);
    }
    expect((await get('?page_size=25&page=41')).status).toBe(404);
    expect((await get('?page_size=25&page=40')).json.results.map((e: { counter: number }) => e.counter)[24]).toBe(EVENTS);
  });
  it('a filtered list larger than the count cap reports the cap and still pages to its end', async () => {
    process.env.PLAYSTREAM_API_COUNT_CAP = '50';
    try {
      for (const [q, where, order] of [
        ['?not__event=runner_on_failed&page_size=200', `event <> 'runner_on_failed'`, 'counter'],
        ['?failed=false&order_by=-counter&page_size=90', 'NOT failed', 'counter DESC'],
      ] as const) {
        const want = await plain(where, order);
        expect(want.length).toBeGreaterThan(200);
        const got: number[] = [];
        let path: string | null = `/api/v2/jobs/${set.bigJobId}/job_events/${q}`;
        while (path) {
          const res = await apiRequest(url, 'GET', path, undefined, admin);
          expect(res.status, path).toBe(200);
          expect(res.json.count, path).toBe(50);
          got.push(...res.json.results.map((e: { counter: number }) => e.counter));
          path = res.json.next;
        }
        expect(got, q).toEqual(want);
      }
      const jobs = await apiRequest(url, 'GET', '/api/v2/jobs/?name__icontains=template&page_size=7', undefined, admin);
      expect(jobs.json.count).toBe(Math.min(50, (await env.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'job' AND name ILIKE '%template%'`)).rows[0].n));
    } finally {
      delete process.env.PLAYSTREAM_API_COUNT_CAP;
    }
  });
});
