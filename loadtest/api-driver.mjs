// Node driver of the API load test (for machines without k6): against a running Playstream
// (PLAYSTREAM_URL, default http://127.0.0.1:8013; PLAYSTREAM_USER/PLAYSTREAM_PASSWORD), it
// makes sure at least 25 jobs exist (launching the Demo Job Template), then runs
// CONCURRENCY (50) clients for DURATION seconds (20), each looping GET of a 25-job page
// with summary fields (80%) and a mixed tail (job detail, job templates, me: 20%), and
// prints req/s and latency percentiles. The receiver ingest load (5,000 events/s) is
// started separately (the pipeline's own load generator) on the same machine.
import { Pool } from 'undici';

const base = process.env.PLAYSTREAM_URL ?? 'http://127.0.0.1:8013';
const auth = `Basic ${Buffer.from(`${process.env.PLAYSTREAM_USER ?? 'admin'}:${process.env.PLAYSTREAM_PASSWORD ?? 'admin'}`).toString('base64')}`;
const concurrency = Number(process.env.CONCURRENCY ?? 50);
const duration = Number(process.env.DURATION ?? 20) * 1000;
const pool = new Pool(base, { connections: concurrency, pipelining: 1 });

async function request(method, path, body) {
  const res = await pool.request({ method, path, headers: { authorization: auth, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

const jobs = await request('GET', '/api/v2/jobs/?page_size=1');
if (jobs.status !== 200) throw new Error(`cannot list jobs: HTTP ${jobs.status}`);
if (jobs.json.count < 25) {
  const jt = (await request('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).json.results[0];
  for (let i = jobs.json.count; i < 25; i++) await request('POST', `/api/v2/job_templates/${jt.id}/launch/`, {});
}
const someJob = (await request('GET', '/api/v2/jobs/?page_size=1')).json.results[0].id;

const latencies = [];
let errors = 0;
const paths = ['/api/v2/job_templates/', `/api/v2/jobs/${someJob}/`, '/api/v2/me/'];
const started = performance.now();
async function client(i) {
  let n = i;
  while (performance.now() - started < duration) {
    const path = n++ % 5 === 0 ? paths[n % 3] : '/api/v2/jobs/?page_size=25&order_by=-id';
    const t = performance.now();
    const r = await request('GET', path).catch(() => ({ status: 0 }));
    latencies.push(performance.now() - t);
    if (r.status !== 200) errors++;
  }
}
await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(1);
console.log(JSON.stringify({ requests: latencies.length, errors, seconds: elapsed.toFixed(1), rps: (latencies.length / elapsed).toFixed(0),
  p50_ms: pct(0.5), p95_ms: pct(0.95), p99_ms: pct(0.99), concurrency }));
await pool.close();
