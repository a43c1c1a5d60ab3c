import { beforeAll, describe, it } from 'vitest';
import { seedApiScale, type ScaleSet } from './seed.js';
import { hashPassword } from '../../src/security/passwords.js';
import { type TestEnv, useTestEnv } from '../../tests/support/harness.js';
import { apiRequest, startTestWeb } from '../../tests/support/web.js';

/**
 * Single-client, uncached latency of every list class at issue #13's scale: 1,000,000
 * unified jobs, 10,000 hosts, one job with 1,000,000 events (bench/api/seed.ts). Run:
 *   PLAYSTREAM_API_CACHE_MB=0 npx vitest run --config bench/api/vitest.config.ts
 * (SCALE_JOBS / SCALE_EVENTS override the sizes). Prints p50 / max per URL over REPEAT GETs.
 */
const JOBS = Number(process.env.SCALE_JOBS ?? 1_000_000);
const EVENTS = Number(process.env.SCALE_EVENTS ?? 1_000_000);
const REPEAT = Number(process.env.REPEAT ?? 15);
let env: TestEnv;
let url: string;
let set: ScaleSet;
let adminToken: string;
let userToken: string;

beforeAll(async () => {
  env = await useTestEnv({ PLAYSTREAM_API_CACHE_MB: '0' });
  const t0 = performance.now();
  set = await seedApiScale(env.pool, { jobs: JOBS, templates: 200, hosts: 10_000, events: EVENTS }, await hashPassword('scale-pw'));
  await env.pool.query('VACUUM ANALYZE unified_jobs');
  await env.pool.query('VACUUM ANALYZE unified_job_counts');
  await env.pool.query('VACUUM ANALYZE hosts');
  await env.pool.query('ANALYZE job_events');
  console.log(`seeded ${JOBS} jobs, ${EVENTS} events in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  ({ url } = await startTestWeb(env));
  const basic = (u: string) => ({ authorization: `Basic ${Buffer.from(`${u}:scale-pw`).toString('base64')}` });
  adminToken = (await apiRequest(url, 'POST', '/api/v2/tokens/', { scope: 'write' }, basic('scale-admin'))).json.token;
  userToken = (await apiRequest(url, 'POST', '/api/v2/tokens/', { scope: 'write' }, basic('scale-user'))).json.token;
}, 3_600_000);

describe('API at 1M jobs, single client, uncached', () => {
  it('prints p50 / max per URL', async () => {
    const j = set.bigJobId;
    const urls: [string, string][] = [
      ['admin', '/api/v2/jobs/'],
      ['admin', '/api/v2/jobs/?page=2000'],
      ['admin', '/api/v2/jobs/?order_by=-id&page=2000'],
      ['admin', '/api/v2/jobs/?status=failed'],
      ['admin', '/api/v2/jobs/?status=failed&page=1000'],
      ['admin', '/api/v2/jobs/?order_by=-finished'],
      ['admin', '/api/v2/jobs/?order_by=-finished&page=2000'],
      ['admin', '/api/v2/jobs/?order_by=name&page=500'],
      ['admin', `/api/v2/jobs/?job_template=${set.templateIds[3]}`],
      ['admin', `/api/v2/jobs/?launched_by_id=${set.launcherIds[2]}&page=100`],
      ['admin', '/api/v2/jobs/?name__icontains=template%200042'],
      ['admin', '/api/v2/unified_jobs/?order_by=-finished'],
      ['admin', '/api/v2/unified_jobs/?order_by=-finished&page=2000'],
      ['admin', '/api/v2/hosts/?search=host-0421'],
      ['admin', '/api/v2/hosts/?page=200'],
      ['admin', '/api/v2/job_templates/?page=5'],
      ['admin', '/api/v2/jobs/1234/'],
      ['user', '/api/v2/jobs/'],
      ['user', '/api/v2/jobs/?page=2000'],
      ['user', '/api/v2/jobs/?order_by=-finished&page=100'],
      ['user', '/api/v2/jobs/?status=failed'],
      ['admin', `/api/v2/jobs/${j}/job_events/`],
      ['admin', `/api/v2/jobs/${j}/job_events/?page=20000`],
      ['admin', `/api/v2/jobs/${j}/job_events/?page=39999`],
      ['admin', `/api/v2/jobs/${j}/job_events/?order_by=-counter&page=30000`],
      ['admin', `/api/v2/jobs/${j}/job_events/?counter__gt=500000&page_size=100`],
      ['admin', `/api/v2/jobs/${j}/job_events/?event=runner_on_failed&page=10`],
      ['admin', `/api/v2/jobs/${j}/job_events/?stdout__icontains=item%20777777`],
    ];
    const lines: string[] = [];
    for (const [who, path] of urls) {
      const headers = { authorization: `Bearer ${who === 'admin' ? adminToken : userToken}` };
      const times: number[] = [];
      let status = 0;
      let count: unknown;
      const n = path.includes('stdout__icontains') ? 3 : REPEAT;
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const res = await apiRequest(url, 'GET', path, undefined, headers);
        times.push(performance.now() - t);
        status = res.status;
        count = res.json?.count;
      }
      times.sort((a, b) => a - b);
      lines.push(`| ${who} | \`${path.replace(String(j), 'BIG')}\` | ${status} | ${count ?? ''} | ${times[Math.floor(n / 2)].toFixed(1)} | ${times[n - 1].toFixed(1)} |`);
    }
    console.log(['| caller | URL | status | count | p50 ms | max ms |', '|---|---|---|---|---|---|', ...lines].join('\n'));
  }, 600_000);
});
