// k6 version of loadtest/api-driver.mjs: 50 VUs, mixed GETs dominated by the 25-job page.
import http from 'k6/http';
import encoding from 'k6/encoding';
import { check } from 'k6';

export const options = { vus: 50, duration: '20s', thresholds: { http_req_duration: ['p(99)<100'] } };
const base = __ENV.PLAYSTREAM_URL || 'http://127.0.0.1:8013';
const headers = { Authorization: `Basic ${encoding.b64encode(`${__ENV.PLAYSTREAM_USER || 'admin'}:${__ENV.PLAYSTREAM_PASSWORD || 'admin'}`)}` };

export default function () {
  const path = Math.random() < 0.8 ? '/api/v2/jobs/?page_size=25&order_by=-id' : ['/api/v2/job_templates/', '/api/v2/me/'][Math.floor(Math.random() * 2)];
  check(http.get(`${base}${path}`, { headers }), { 'status 200': (r) => r.status === 200 });
}
