// The API load test, self-contained (`npm run loadtest:api`): it starts its own Playstream
// (`playstream start` with a temporary data dir, so embedded Postgres and Redis, web,
// receiver and dispatcher), creates JOBS jobs by launching the Demo Job Template and lets
// them finish, then for DURATION seconds runs CONCURRENCY clients GETting the 25-job page
// with summary fields (bearer token, as scripts use) while PRODUCERS processes RPUSH
// EVENT_RATE events/s onto the callback queue (docs/intake-contract.md) for one of those
// jobs. It prints req/s and latency percentiles, and the offered vs achieved event rate
// (rows the receiver stored during the window). Everything runs on this machine, so the
// load generator shares its cores with the server.
//
// Meanwhile a probe plays another process writing: every PROBE_EVERY_MS it UPDATEs the
// job_explanation of the page's newest job straight in SQL, then GETs the page (on its own
// connection, not counted above) until the change shows. It reports how late after the
// commit a GET could still get the old page (the read cache's staleness window for writes
// it hears of by NOTIFY) and when the new page arrived.
//
// `node loadtest/api-driver.mjs producer <redisUrl> <queue> <jobId> <rate> <seconds> <firstCounter>`
// is the producer child.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Pool } from 'undici';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const DURATION = Number(process.env.DURATION ?? 20);
const EVENT_RATE = Number(process.env.EVENT_RATE ?? 5000);
const PRODUCERS = Number(process.env.PRODUCERS ?? 2);
const JOBS = Number(process.env.JOBS ?? 30);
const LIST_PATH = '/api/v2/jobs/?page_size=25&order_by=-id';
const PROBE_EVERY_MS = Number(process.env.PROBE_EVERY_MS ?? 1000);
const FIRST_COUNTER = 10_000_000;

/** One ~1 KB runner_on_ok event, as ansible-runner prints it, with the job reference added. */
function eventJson(jobId, counter) {
  const uuid = crypto.randomUUID();
  return JSON.stringify({
    uuid, counter, job_id: jobId, event: 'runner_on_ok', parent_uuid: 'a0b1c2d3-0000-4000-8000-000000000001',
    stdout: `\u001b[0;32mok: [web-${counter % 50}] => {\u001b[0m\r\n\u001b[0;32m    "msg": "load test event ${counter}"\u001b[0m\r\n\u001b[0;32m}\u001b[0m`,
    start_line: counter * 3, end_line: counter * 3 + 3, verbosity: 0, pid: 4242, runner_ident: 'loadtest',
    created: new Date().toISOString().slice(0, -1),
    event_data: { playbook: 'site.yml', play: 'Load', task: 'Greet', task_action: 'debug', host: `web-${counter % 50}`,
      remote_addr: `web-${counter % 50}`, res: { msg: `load test event ${counter}`, changed: false, _ansible_no_log: false },
      uuid, play_uuid: 'a0b1c2d3-0000-4000-8000-000000000002', task_uuid: 'a0b1c2d3-0000-4000-8000-000000000003',
      resolved_action: 'ansible.builtin.debug', start: new Date().toISOString(), end: new Date().toISOString(), duration: 0.01 },
  });
}

/** A producer child: pushes `rate` events/s for `seconds`, in 5 ms chunks, and prints how many. */
async function runProducer([url, queue, job, rate, seconds, first]) {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const perSec = Number(rate);
  const chunk = Math.max(1, Math.round(perSec / 200));
  const start = performance.now();
  const end = start + Number(seconds) * 1000;
  let counter = Number(first);
  let sent = 0;
  while (performance.now() < end) {
    const items = [];
    for (let i = 0; i < chunk; i++) items.push(eventJson(Number(job), counter++));
    await redis.rpush(queue, ...items);
    sent += items.length;
    const wait = start + (sent / perSec) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  process.stdout.write(`${JSON.stringify({ sent, seconds: (performance.now() - start) / 1000 })}\n`);
  redis.disconnect();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** `playstream start` on a temp data dir; resolves once it is serving, with the embedded services' URLs. */
async function startStack(dataDir, port, password) {
  const env = { ...process.env, PLAYSTREAM_DATA_DIR: dataDir, PORT: String(port), PLAYSTREAM_ADMIN_PASSWORD: password };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.PLAYSTREAM_REDIS_PREFIX;
  const child = spawn(process.execPath, [path.join(root, 'bin/playstream.js'), 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (d) => { out += d; };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`playstream start did not come up:\n${out}`)), 120_000);
    const check = () => { if (out.includes('Playstream is running')) { clearTimeout(timer); resolve(); } };
    child.stdout.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`playstream start exited ${code}:\n${out}`)); });
  });
  const redisPort = /embedded Redis running port=(\d+)/.exec(out)?.[1];
  const pgPort = /postgres:\/\/playstream:\*\*\*@127\.0\.0\.1:(\d+)\//.exec(out)?.[1];
  if (!redisPort || !pgPort) throw new Error(`cannot find the embedded services in:\n${out}`);
  const redisPassword = fs.readFileSync(path.join(dataDir, 'redis', 'password'), 'utf8').trim();
  const pgPassword = fs.readFileSync(path.join(dataDir, 'postgres', 'password'), 'utf8').trim();
  return {
    child,
    redisUrl: `redis://:${redisPassword}@127.0.0.1:${redisPort}/0`,
    databaseUrl: `postgres://playstream:${encodeURIComponent(pgPassword)}@127.0.0.1:${pgPort}/playstream`,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The pid of the supervisor's child running `role` (`playstream start` forks web, receiver, dispatcher). */
function childPid(parent, role) {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (ppid === parent && args.includes(role)) return Number(entry);
    } catch { /* exited meanwhile */ }
  }
  return undefined;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN;
}

/**
 * The web process's read cache figures from /api/v2/metrics/: request and build counters,
 * and the change-delay histogram's cumulative bucket counts (le → count).
 */
async function cacheFigures(call, auth) {
  const res = await call('GET', '/api/v2/metrics/', undefined, auth, true);
  const value = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(res.text)?.[1] ?? NaN);
  const buckets = new Map();
  for (const m of res.text.matchAll(/^api_read_cache_change_delay_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$/gm)) buckets.set(m[1], Number(m[2]));
  return { requests: value('api_read_cache_requests_total'), builds: value('api_read_cache_builds_total'),
    changes: value('api_read_cache_changes_total'), delaySum: value('api_read_cache_change_delay_seconds_sum'),
    delayCount: value('api_read_cache_change_delay_seconds_count'), buckets };
}

/** What the cache did between two cacheFigures snapshots. */
function cacheDelta(a, b) {
  const heard = b.delayCount - a.delayCount;
  const within = {};
  for (const [le, n] of b.buckets) within[`le_${le === '+Inf' ? 'inf' : `${Number(le) * 1000}ms`}`] = n - (a.buckets.get(le) ?? 0);
  return { requests: b.requests - a.requests, builds: b.builds - a.builds, changes_heard: b.changes - a.changes,
    change_delay_ms_mean: heard ? Number((((b.delaySum - a.delaySum) / heard) * 1000).toFixed(2)) : null, change_delay_cumulative: within };
}

/**
 * Writes as another process would, until `end`: each probe UPDATEs a job on the page and
 * reads the page back-to-back until it shows. `stale_after_ms` is the latest a GET was
 * issued after the commit and still answered with the old page (null: none was).
 */
async function probeStaleness({ db, http, auth, jobId, end }) {
  const probes = [];
  for (let n = 1; performance.now() + PROBE_EVERY_MS + 1000 < end; n++) {
    await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    const marker = `loadtest probe ${n} ${crypto.randomUUID()}`;
    await db.query('UPDATE unified_jobs SET job_explanation = $2 WHERE id = $1', [jobId, marker]);
    const committed = performance.now();
    let staleAfter = null;
    let staleReads = 0;
    for (;;) {
      const issued = performance.now() - committed;
      if (issued > 10_000) throw new Error(`probe ${n}: the change is not on the page 10 s after its commit`);
      const res = await http.request({ method: 'GET', path: LIST_PATH, headers: { authorization: auth } });
      if ((await res.body.text()).includes(marker)) {
        probes.push({ stale_after_ms: staleAfter, stale_reads: staleReads, visible_after_ms: performance.now() - committed });
        break;
      }
      staleAfter = issued;
      staleReads++;
    }
  }
  const stale = probes.map((p) => p.stale_after_ms).filter((x) => x !== null).sort((a, b) => a - b);
  const visible = probes.map((p) => p.visible_after_ms).sort((a, b) => a - b);
  const ms = (x) => (Number.isFinite(x) ? Number(x.toFixed(2)) : null);
  return { probes: probes.length, stale_reads_in: stale.length, stale_reads_max: Math.max(0, ...probes.map((p) => p.stale_reads)),
    stale_after_ms_max: ms(stale.at(-1)),
    visible_after_ms_p50: ms(percentile(visible, 0.5)), visible_after_ms_max: ms(visible.at(-1)) };
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-loadtest-'));
  const port = await freePort();
  const password = crypto.randomBytes(12).toString('hex');
  console.error(`starting playstream (data dir ${dataDir}, port ${port})`);
  const stack = await startStack(dataDir, port, password);
  const http = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });
  const probeHttp = new Pool(`http://127.0.0.1:${port}`, { connections: 1, pipelining: 1 });
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  try {
    await db.connect();
    const basic = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
    const call = async (method, p, body, auth, raw = false) => {
      const res = await http.request({ method, path: p, headers: { authorization: auth, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.body.text();
      return { status: res.statusCode, json: !raw && text ? JSON.parse(text) : undefined, text };
    };
    // The measured loop reads each body whole but does not parse it: the generator shares the
    // server's cores, and parsing a 57 KB page per request would be load the server never sees.
    const fetchPage = async (auth) => {
      const res = await http.request({ method: 'GET', path: LIST_PATH, headers: { authorization: auth } });
      let bytes = 0;
      for await (const chunk of res.body) bytes += chunk.length;
      return res.statusCode === 200 && bytes < 1000 ? 0 : res.statusCode;
    };
    const token = await call('POST', '/api/v2/tokens/', { description: 'loadtest', scope: 'write' }, basic);
    if (token.status !== 201) throw new Error(`cannot create a token: HTTP ${token.status}`);
    const auth = `Bearer ${token.json.token}`;

    const jt = (await call('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template', undefined, auth)).json.results[0];
    console.error(`launching ${JOBS} jobs of "${jt.name}" and waiting for them to finish`);
    for (let i = 0; i < JOBS; i++) {
      const r = await call('POST', `/api/v2/job_templates/${jt.id}/launch/`, {}, auth);
      if (r.status !== 201) throw new Error(`launch failed: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    }
    const deadline = Date.now() + 300_000;
    for (;;) {
      const open = await call('GET', '/api/v2/unified_jobs/?status__in=new,pending,waiting,running&page_size=1', undefined, auth);
      if (open.json.count === 0) break;
      if (Date.now() > deadline) throw new Error(`${open.json.count} jobs still unfinished after 300 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const page = await call('GET', LIST_PATH, undefined, auth);
    if (page.json.results.length !== 25 || !page.json.results[0].summary_fields?.job_template) {
      throw new Error(`expected a full 25-job page with summary fields, got ${page.json.results.length}`);
    }
    const statuses = {};
    for (const j of page.json.results) statuses[j.status] = (statuses[j.status] ?? 0) + 1;
    const ingestJob = page.json.results.at(-1).id;
    const pageBytes = JSON.stringify(page.json).length;

    const stored = async () => Number((await db.query(
      'SELECT count(*) AS c FROM job_events WHERE job_id = $1 AND counter >= $2', [ingestJob, FIRST_COUNTER])).rows[0].c);

    // Warm-up: connections, prepared plans, JIT.
    const warmEnd = performance.now() + 2000;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < warmEnd) await fetchPage(auth);
    }));

    const perProducer = EVENT_RATE / PRODUCERS;
    const producers = Array.from({ length: PRODUCERS }, (_, i) => new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [self, 'producer', stack.redisUrl, 'callback_tasks', String(ingestJob), String(perProducer),
        String(DURATION + 1), String(FIRST_COUNTER + i * 100_000_000)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`producer exited ${code}`))));
    }));
    await new Promise((r) => setTimeout(r, 1000));

    const before = await stored();
    const cache0 = await cacheFigures(call, auth);
    const webPid = childPid(stack.child.pid, 'web');
    const receiverPid = childPid(stack.child.pid, 'receiver');
    const cpu0 = { web: cpuSeconds(webPid), receiver: cpuSeconds(receiverPid), self: process.cpuUsage(), machine: machineCpu() };
    const latencies = [];
    let errors = 0;
    const started = performance.now();
    const end = started + DURATION * 1000;
    const probe = probeStaleness({ db, http: probeHttp, auth, jobId: page.json.results[0].id, end });
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const status = await fetchPage(auth).catch(() => 0);
        latencies.push(performance.now() - t);
        if (status !== 200) errors++;
      }
    }));
    const elapsed = (performance.now() - started) / 1000;
    const staleness = await probe;
    const cache = cacheDelta(cache0, await cacheFigures(call, auth));
    const own = process.cpuUsage(cpu0.self);
    const machine = machineCpu();
    const cpu = {
      web_s: Number((cpuSeconds(webPid) - cpu0.web).toFixed(1)), receiver_s: Number((cpuSeconds(receiverPid) - cpu0.receiver).toFixed(1)),
      clients_s: Number(((own.user + own.system) / 1e6).toFixed(1)),
      machine_busy_pct: Math.round((100 * (machine.busy - cpu0.machine.busy)) / (machine.total - cpu0.machine.total)),
    };
    const after = await stored();
    const sent = (await Promise.all(producers)).reduce((s, p) => s + p.sent, 0);
    const drainStart = performance.now();
    let total = after;
    while (total < sent && performance.now() - drainStart < 60_000) {
      await new Promise((r) => setTimeout(r, 250));
      total = await stored();
    }
    latencies.sort((a, b) => a - b);
    const result = {
      concurrency: CONCURRENCY, seconds: Number(elapsed.toFixed(1)), requests: latencies.length, errors,
      rps: Math.round(latencies.length / elapsed),
      p50_ms: Number(percentile(latencies, 0.5).toFixed(1)), p95_ms: Number(percentile(latencies, 0.95).toFixed(1)),
      p99_ms: Number(percentile(latencies, 0.99).toFixed(1)), max_ms: Number(latencies.at(-1).toFixed(1)),
      web_cpu_ms_per_request: Number(((cpu.web_s * 1000) / Math.max(1, latencies.length)).toFixed(2)), cpu_seconds_in_window: cpu,
      page_bytes: pageBytes, page_statuses: statuses, staleness, cache,
      events_offered_per_s: EVENT_RATE, events_sent: sent, events_stored_in_window_per_s: Math.round((after - before) / elapsed),
      events_stored_total: total, drain_after_window_s: Number(((performance.now() - drainStart) / 1000).toFixed(1)),
      cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Number(l.toFixed(1))),
    };
    console.log(JSON.stringify(result));
    console.error(`GET ${LIST_PATH} x${CONCURRENCY} clients: ${result.rps} req/s, p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, ${errors} errors`);
    console.error(`another process's write (every ${PROBE_EVERY_MS} ms, ${staleness.probes} probes): a GET issued up to ${staleness.stale_after_ms_max ?? 0} ms after its commit got the old page (${staleness.stale_reads_in} probes, at most ${staleness.stale_reads_max} stale GETs each); new page received after ${staleness.visible_after_ms_p50} ms p50, ${staleness.visible_after_ms_max} ms max`);
    console.error(`events: offered ${EVENT_RATE}/s, stored ${result.events_stored_in_window_per_s}/s during the window; ${total}/${sent} stored ${result.drain_after_window_s} s after it`);
  } finally {
    await db.end().catch(() => {});
    await http.close();
    await probeHttp.close();
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'producer') await runProducer(process.argv.slice(3));
else await main();
