// k6 version of the API load test's mixed phase (for machines with k6), against a running
// Playstream seeded by `npm run loadtest:api` (keep its data with LOADTEST_DATA_DIR, then
// `playstream start` on that dir):
//   k6 run -e PLAYSTREAM_URL=http://127.0.0.1:8013 -e SEED=$LOADTEST_DATA_DIR/loadtest-seed.json loadtest/api-k6.js
// 50 VUs for 20 s, half the superuser and half the RBAC-filtered member, bearer tokens
// made in setup(), over the URL classes and weights of loadtest/api/mix.ts (which the
// Node driver runs on this machine, with the ingest load and the figures in
// docs/benchmarks.md). Change one, change the other.
import http from 'k6/http';
import encoding from 'k6/encoding';
import { check } from 'k6';

export const options = { vus: 50, duration: '20s', thresholds: { http_req_duration: ['p(99)<100'], checks: ['rate>0.999'] } };
const base = __ENV.PLAYSTREAM_URL || 'http://127.0.0.1:8013';
const seed = JSON.parse(open(__ENV.SEED));
const set = seed.set;
const JOBS = seed.jobs;
const EVENTS = seed.events;
const HOSTS = 10000;

const int = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const userTemplates = set.templateIds.filter((_, i) => i % 2 === 0).slice(0, 10);
// Templates that ran jobs (every tenth ran only project updates): paged filters need them.
const ranJobs = set.templateIds.filter((_, i) => i % 10 !== 0);
const pageOf = (who) => (Math.random() < 5 / 6 ? int(1, 5) : int(1, who === 'admin' ? 2000 : 400));
function jobIndex(who) {
  for (;;) {
    const i = int(0, JOBS - 1);
    if (i % 10 === 0) continue;
    if (who === 'user' && (i % 5 !== 1 || i % 7 === 0)) continue;
    return i;
  }
}

const CLASSES = [
  [20, (who) => `/api/v2/jobs/?order_by=${pick(['-id', '-finished', 'id', 'name', '-created', '-started'])}&page=${pageOf(who)}`],
  [12, (who) => `/api/v2/jobs/?${who === 'admin'
    ? pick(['status=failed', 'status=successful', 'status__in=error,canceled', 'failed=true', `launched_by_id=${pick(set.launcherIds)}`, `job_template=${pick(ranJobs)}`,
      `finished__gt=2026-01-${String(int(2, 20)).padStart(2, '0')}T00:00:00Z`])
    : pick(['status=failed', 'failed=true', `launched_by_id=${set.userId}`, `job_template=${pick(userTemplates)}`])}&order_by=${pick(['-id', '-finished'])}&page=${who === 'admin' ? int(1, 20) : 1}`],
  [5, () => `/api/v2/jobs/?${pick(['name__icontains', 'search'])}=${encodeURIComponent(`template ${String(int(0, set.templateIds.length - 1)).padStart(4, '0')}`)}&order_by=-id`],
  [15, (who) => `/api/v2/jobs/${set.firstJobId + jobIndex(who)}/`],
  [10, (who) => `/api/v2/unified_jobs/?order_by=${pick(['-finished', '-id', 'status', '-created'])}&page=${pageOf(who)}${who === 'admin' && Math.random() < 0.3 ? '&type=project_update' : ''}`],
  [10, (who) => (Math.random() < 0.5 ? `/api/v2/hosts/?search=host-${String(int(0, HOSTS / 10 - 1)).padStart(4, '0')}`
    : `/api/v2/hosts/?page=${who === 'admin' ? int(1, HOSTS / 25) : 1}&order_by=${pick(['name', '-id'])}`)],
  [12, () => {
    const b = `/api/v2/jobs/${set.bigJobId}/job_events/`;
    const r = Math.random();
    if (r < 0.5) return `${b}?page=${int(1, EVENTS / 25)}`;
    if (r < 0.75) { const from = int(0, EVENTS - 100); return `${b}?counter__gt=${from}&counter__lte=${from + 100}&page_size=100`; }
    return `${b}?order_by=-counter&page=${int(1, 1000)}`;
  }],
  [6, (who) => (who === 'admin' ? `/api/v2/job_templates/?page=${int(1, set.templateIds.length / 25)}&order_by=${pick(['name', '-id'])}` : '/api/v2/job_templates/')],
  [5, () => '/api/v2/me/'],
  [5, null], // writes
];
const TOTAL = CLASSES.reduce((s, [w]) => s + w, 0);

export function setup() {
  const token = (user) => {
    const basic = `Basic ${encoding.b64encode(`${user}:scale-pw`)}`;
    const res = http.post(`${base}/api/v2/tokens/`, JSON.stringify({ description: 'k6', scope: 'write' }),
      { headers: { Authorization: basic, 'Content-Type': 'application/json' } });
    if (res.status !== 201) throw new Error(`cannot create a token for ${user}: HTTP ${res.status}`);
    return res.json('token');
  };
  return { admin: token('scale-admin'), user: token('scale-user') };
}

export default function (tokens) {
  const who = __VU % 2 === 0 ? 'admin' : 'user';
  const headers = { Authorization: `Bearer ${tokens[who]}`, 'Content-Type': 'application/json' };
  let x = Math.random() * TOTAL;
  const [, make] = CLASSES.find(([w]) => (x -= w) < 0) || CLASSES[CLASSES.length - 1];
  let res;
  if (make) res = http.get(`${base}${make(who)}`, { headers });
  else if (who === 'admin') res = http.patch(`${base}/api/v2/job_templates/${pick(set.templateIds)}/`, JSON.stringify({ description: `k6 ${int(0, 1e9)}` }), { headers });
  else res = http.patch(`${base}/api/v2/users/${set.userId}/`, JSON.stringify({ first_name: `k6 ${int(0, 1e9)}` }), { headers });
  check(res, { 'status 2xx': (r) => r.status >= 200 && r.status < 300 });
}
