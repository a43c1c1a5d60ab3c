// k6 version of the API load (for machines with k6), against a running Playstream:
//   k6 run -e PLAYSTREAM_URL=http://127.0.0.1:8013 -e PLAYSTREAM_PASSWORD=... loadtest/api-k6.js
// 50 VUs for 20 s, a mixed read workload dominated by the 25-job page with summary fields,
// authenticated with a bearer token made in setup() (as scripts do; basic auth would pay
// scrypt on every cache miss). The ingest load is loadtest/api-driver.mjs's producers, or
// any producer following docs/intake-contract.md. The self-contained run with figures is
// `npm run loadtest:api`.
import http from 'k6/http';
import encoding from 'k6/encoding';
import { check } from 'k6';

export const options = { vus: 50, duration: '20s', thresholds: { http_req_duration: ['p(99)<100'], checks: ['rate>0.999'] } };
const base = __ENV.PLAYSTREAM_URL || 'http://127.0.0.1:8013';

export function setup() {
  const basic = `Basic ${encoding.b64encode(`${__ENV.PLAYSTREAM_USER || 'admin'}:${__ENV.PLAYSTREAM_PASSWORD || 'admin'}`)}`;
  const res = http.post(`${base}/api/v2/tokens/`, JSON.stringify({ description: 'k6', scope: 'read' }),
    { headers: { Authorization: basic, 'Content-Type': 'application/json' } });
  if (res.status !== 201) throw new Error(`cannot create a token: HTTP ${res.status}`);
  const token = res.json('token');
  const job = http.get(`${base}/api/v2/jobs/?page_size=1`, { headers: { Authorization: `Bearer ${token}` } }).json('results.0.id');
  return { token, job };
}

export default function (data) {
  const headers = { Authorization: `Bearer ${data.token}` };
  const r = Math.random();
  const path = r < 0.8 ? '/api/v2/jobs/?page_size=25&order_by=-id'
    : r < 0.87 ? '/api/v2/job_templates/'
      : r < 0.94 ? `/api/v2/jobs/${data.job}/`
        : '/api/v2/me/';
  check(http.get(`${base}${path}`, { headers }), { 'status 200': (res) => res.status === 200 });
}
