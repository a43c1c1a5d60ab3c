import { beforeAll, describe, expect, it } from 'vitest';
import { seedApiScale, type ScaleSet } from '../../bench/api/seed.js';
import { hashPassword } from '../../src/security/passwords.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * Lists built page-first (ids, then rows; counts from unified_job_counts or a capped count)
 * keep AWX's semantics: the same ids in the same order, page by page, as a straightforward
 * query over the whole set, the exact count, next/previous links, 404 past the end — for
 * an admin and for a user whose lists are RBAC-filtered.
 */
let env: TestEnv;
let url: string;
let set: ScaleSet;
const admin = basicAuth('scale-admin', 'scale-pw-1');
const user = basicAuth('scale-user', 'scale-pw-1');

beforeAll(async () => {
  env = await useTestEnv();
  set = await seedApiScale(env.pool, { jobs: 700, templates: 24, hosts: 50, events: 10 }, await hashPassword('scale-pw-1'));
  // Some jobs carry a description (set after insert: the update trigger keeps the vocabulary),
  // one that `?search=template 001` also matches.
  await env.pool.query(`UPDATE unified_jobs SET description = 'Nightly rollout of Template 0019' WHERE id % 7 = 3`);
  ({ url } = await startTestWeb(env));
});

/** Every page of `path` by following `next`; checks count and previous on the way. */
async function walk(path: string, headers: Record<string, string>): Promise<{ ids: number[]; count: number }> {
  const ids: number[] = [];
  let next: string | null = path;
  let count = -1;
  let page = 1;
  while (next) {
    const res = await apiRequest(url, 'GET', next, undefined, headers);
    expect(res.status, `${next}: ${res.text.slice(0, 200)}`).toBe(200);
    if (count === -1) count = res.json.count;
    expect(res.json.count).toBe(count);
    expect(res.json.previous === null).toBe(page === 1);
    ids.push(...res.json.results.map((r: { id: number }) => r.id));
    next = res.json.next;
    page++;
  }
  return { ids, count };
}

/** The ids a plain query gives; `visible` restricts to what scale-user reads. */
async function expected(where: string, order: string, visible = false): Promise<number[]> {
  const readable = `(t.created_by_id = ${set.userId} OR t.unified_job_template_id = ANY($1::bigint[]))`;
  const { rows } = await env.pool.query(
    `SELECT t.id FROM unified_jobs t WHERE ${[where, visible ? readable : '$1::bigint[] IS NOT NULL'].join(' AND ')} ORDER BY ${order}`,
    [set.templateIds.filter((_, i) => i % 2 === 0).slice(0, 10)]);
  return rows.map((r) => Number(r.id));
}

const CASES: [string, string, string][] = [
  ['/api/v2/jobs/?page_size=50', `t.kind = 'job'`, 't.id'],
  ['/api/v2/jobs/?page_size=40&order_by=-id', `t.kind = 'job'`, 't.id DESC'],
  ['/api/v2/jobs/?page_size=45&order_by=-finished', `t.kind = 'job'`, 't.finished DESC NULLS FIRST, t.id DESC'],
  ['/api/v2/jobs/?page_size=45&order_by=finished', `t.kind = 'job'`, 't.finished ASC NULLS LAST, t.id'],
  ['/api/v2/jobs/?page_size=60&order_by=name', `t.kind = 'job'`, 't.name, t.id'],
  ['/api/v2/jobs/?page_size=60&order_by=-created', `t.kind = 'job'`, 't.created DESC, t.id DESC'],
  ['/api/v2/jobs/?status=failed&page_size=9', `t.kind = 'job' AND t.status = 'failed'`, 't.id'],
  ['/api/v2/jobs/?status__in=error,canceled&order_by=-id&page_size=13', `t.kind = 'job' AND t.status IN ('error', 'canceled')`, 't.id DESC'],
  ['/api/v2/jobs/?name__icontains=template%200003&page_size=11', `t.kind = 'job' AND t.name ILIKE '%template 0003%'`, 't.id'],
  ['/api/v2/jobs/?search=TEMPLATE%20001&page_size=17', `t.kind = 'job' AND (t.name ILIKE '%TEMPLATE 001%' OR t.description ILIKE '%TEMPLATE 001%')`, 't.id'],
  ['/api/v2/jobs/?not__name__icontains=template%20000&order_by=-id&page_size=50', `t.kind = 'job' AND NOT t.name ILIKE '%template 000%'`, 't.id DESC'],
  ['/api/v2/jobs/?name__icontains=template%20001&order_by=-finished&page_size=7', `t.kind = 'job' AND t.name ILIKE '%template 001%'`, 't.finished DESC NULLS FIRST, t.id DESC'],
  ['/api/v2/jobs/?search=template%20002&order_by=finished&page_size=9', `t.kind = 'job' AND (t.name ILIKE '%template 002%' OR t.description ILIKE '%template 002%')`, 't.finished ASC NULLS LAST, t.id'],
  ['/api/v2/jobs/?name__icontains=template&order_by=-name&page_size=40', `t.kind = 'job' AND t.name ILIKE '%template%'`, 't.name DESC, t.id DESC'],
  ['/api/v2/jobs/?name__icontains=template%2000&order_by=status,-failed&page_size=23', `t.kind = 'job' AND t.name ILIKE '%template 00%'`, 't.status, t.failed DESC, t.id'],
  ['/api/v2/jobs/?name__icontains=no%20such%20name&order_by=-id', `t.kind = 'job' AND t.name ILIKE '%no such name%'`, 't.id DESC'],
  ['/api/v2/jobs/?description__icontains=NIGHTLY&order_by=-id&page_size=30', `t.kind = 'job' AND t.description ILIKE '%nightly%'`, 't.id DESC'],
  ['/api/v2/jobs/?search=rollout%20of&page_size=25', `t.kind = 'job' AND (t.name ILIKE '%rollout of%' OR t.description ILIKE '%rollout of%')`, 't.id'],
  ['/api/v2/jobs/?name__iexact=SCALE%20template%200005&page_size=8', `t.kind = 'job' AND lower(t.name) = 'scale template 0005'`, 't.id'],
  ['/api/v2/unified_jobs/?name__istartswith=scale%20p&page_size=30', `t.name ILIKE 'scale p%'`, 't.id'],
  ['/api/v2/unified_jobs/?order_by=-finished&page_size=70', 'true', 't.finished DESC NULLS FIRST, t.id DESC'],
  ['/api/v2/project_updates/?page_size=20', `t.kind = 'project_update'`, 't.id'],
];

describe('list pages built page-first keep AWX semantics', () => {
  for (const [path, where, order] of CASES) {
    it(`${path} pages through the same ids, in order, with the exact count, as a plain query (admin)`, async () => {
      const want = await expected(where, order);
      const got = await walk(path, admin);
      expect(got.count).toBe(want.length);
      expect(got.ids).toEqual(want);
    });
  }

  for (const [path, where, order] of CASES.filter(([p]) => !p.includes('unified_jobs'))) {
    it(`${path} shows a non-admin exactly the jobs they may read, counted exactly`, async () => {
      const want = await expected(where, order, true);
      if (!/project_updates|no%20such/.test(path)) expect(want.length).toBeGreaterThan(0);
      const got = await walk(path, user);
      expect(got.count).toBe(want.length);
      expect(got.ids).toEqual(want);
    });
  }

  // A narrowed list's page is read by walking the ordering's index or by sorting the rows
  // that match, whichever its count says is cheaper (crud.ts): forced either way, the same pages.
  for (const plan of ['index', 'sort']) {
    it(`every case pages the same read by ${plan} (admin and non-admin)`, async () => {
      process.env.PLAYSTREAM_API_LIST_PLAN = plan;
      try {
        for (const [path, where, order] of CASES) {
          for (const visible of path.includes('unified_jobs') ? [false] : [false, true]) {
            const want = await expected(where, order, visible);
            const got = await walk(path, visible ? user : admin);
            expect(got.count, `${plan} ${visible ? 'user' : 'admin'} ${path}`).toBe(want.length);
            expect(got.ids, `${plan} ${visible ? 'user' : 'admin'} ${path}`).toEqual(want);
          }
        }
      } finally {
        delete process.env.PLAYSTREAM_API_LIST_PLAN;
      }
    });
  }

  it('counts follow inserts, status changes and deletes made by other processes', async () => {
    const before = (await apiRequest(url, 'GET', '/api/v2/jobs/?status=failed', undefined, admin)).json.count;
    const { rows } = await env.pool.query(`SELECT id FROM unified_jobs WHERE kind = 'job' AND status = 'successful' ORDER BY id LIMIT 3`);
    await env.pool.query(`UPDATE unified_jobs SET status = 'failed' WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
    await env.pool.query(`DELETE FROM unified_jobs WHERE id = (SELECT min(id) FROM unified_jobs WHERE kind = 'job' AND status = 'failed')`);
    await env.pool.query('SELECT fold_unified_job_counts()');
    await env.pool.query(`INSERT INTO unified_jobs (kind, name, status, failed) VALUES ('job', 'late', 'failed', true)`);
    const after = (await apiRequest(url, 'GET', '/api/v2/jobs/?status=failed', undefined, admin)).json.count;
    expect(after).toBe(before + 3 - 1 + 1);
    const plain = await env.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'job' AND status = 'failed'`);
    expect(after).toBe(plain.rows[0].n);
  });

  it('finds jobs by names they were given after the list was first read (name lookups go through the names jobs have had)', async () => {
    const find = async (q: string) => (await apiRequest(url, 'GET', `/api/v2/unified_jobs/?name__icontains=${encodeURIComponent(q)}`, undefined, admin)).json;
    const ids = async (q: string) => (await find(q)).results.map((j: { id: number }) => j.id);
    expect((await find('brand new name')).count).toBe(0);
    // Written by another connection, as another process would: the read cache shows it once its NOTIFY arrives.
    const { rows } = await env.pool.query(`INSERT INTO unified_jobs (kind, name, status) VALUES ('job', 'Brand New Name', 'new') RETURNING id`);
    await expect.poll(() => ids('brand new name'), { timeout: 5000 }).toEqual([Number(rows[0].id)]);
    await env.pool.query(`UPDATE unified_jobs SET name = 'Renamed Since' WHERE id = $1`, [rows[0].id]);
    await expect.poll(() => ids('brand new name'), { timeout: 5000 }).toEqual([]);
    expect(await ids('renamed since')).toEqual([Number(rows[0].id)]);
  });

  it('a page past the end is 404 Invalid page; page 1 of an empty list is an empty page', async () => {
    const past = await apiRequest(url, 'GET', '/api/v2/jobs/?status=failed&page=1000', undefined, admin);
    expect(past.status).toBe(404);
    expect(past.json.detail).toBe('Invalid page.');
    const empty = await apiRequest(url, 'GET', '/api/v2/jobs/?name=nothing-has-this-name', undefined, admin);
    expect(empty.json).toEqual({ count: 0, next: null, previous: null, results: [] });
  });

  it('pages of hosts and templates (capped-count path) match a plain query, with search', async () => {
    const got = await walk('/api/v2/hosts/?search=example&order_by=-name&page_size=7', admin);
    const { rows } = await env.pool.query(`SELECT id FROM hosts WHERE name ILIKE '%example%' ORDER BY name DESC, id DESC`);
    expect(got.count).toBe(rows.length);
    expect(got.ids).toEqual(rows.map((r) => Number(r.id)));
    const t = await walk('/api/v2/job_templates/?page_size=5', user);
    expect(t.count).toBe(10);
  });
});
