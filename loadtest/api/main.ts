import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Pool } from 'undici';
import { seedApiScale, type ScaleSet } from '../../bench/api/seed.js';
import { partitionName } from '../../src/db/event-partitions.js';
import { searchIndexName } from '../../src/db/event-search-index.js';
import { hashPassword } from '../../src/security/passwords.js';
import { chooser, random, type Request, urlClasses, type Who } from './mix.js';
import { processCpuSeconds, TICK } from '../../bench/pipeline/cpu-accounting.js';
import { machineCpu, percentile, type Stack, startStack } from './stack.js';

/**
 * The API load test of issue #13 (`npm run loadtest:api`), self-contained: `playstream
 * start` on its own data dir, seeded in SQL with SCALE_JOBS unified jobs (1,000,000), 10,000
 * hosts and a job of SCALE_EVENTS events (1,000,000) (bench/api/seed.ts; LOADTEST_DATA_DIR
 * keeps a seeded dir for the next run). Then, each phase on a stack of its own:
 *
 * 1. single client, read cache off: every list, detail and event page class, p50 / max
 *    against the targets (docs/api.md);
 * 2. CONCURRENCY clients over the weighted URL mix (mix.ts; admin and non-admin, bearer
 *    tokens) for DURATION s, cache off, while producers RPUSH EVENT_RATE events/s for a
 *    running job (the receiver stores them) and a job finishes every second;
 * 3. the same with the read cache on, and a probe measuring how long after another
 *    process's write a read may still be answered from before it;
 * 4. the old scenario, one URL (the first 25-job page) repeated, cache on: a secondary line.
 *
 * Everything — clients, producers, web, receiver, dispatcher, Postgres, Redis — shares this
 * machine's cores; the clients' CPU share is printed. `PHASES=1,2` runs a subset.
 *
 * `<bundle> producer <redisUrl> <queue> <jobId> <rate> <seconds> <firstCounter>` is the producer child.
 */
const root = path.resolve(path.dirname(process.argv[1]), '..');
const JOBS = Number(process.env.SCALE_JOBS ?? 1_000_000);
const EVENTS = Number(process.env.SCALE_EVENTS ?? 1_000_000);
const HOSTS = 10_000;
const TEMPLATES = 200;
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const DURATION = Number(process.env.DURATION ?? 20);
const EVENT_RATE = Number(process.env.EVENT_RATE ?? 5000);
const PRODUCERS = Number(process.env.PRODUCERS ?? 2);
const REPEAT = Number(process.env.REPEAT ?? 15);
const PHASES = new Set((process.env.PHASES ?? '1,2,3,4').split(',').map(Number));
const FIRST_COUNTER = 10_000_000;
// Seconds the producers run before the clients start, timed as the ingest's own CPU.
const INGEST_ALONE_S = 4;
// #13's mixed target: what the CPU budget per request is computed for.
const TARGET_RPS = 1000;
const OLD_URL = '/api/v2/jobs/?page_size=25&order_by=-id';
const PASSWORD = 'loadtest-admin-pw';
const SCALE_PASSWORD = 'scale-pw';

/**
 * One ~1 KB runner_on_ok event, as ansible-runner prints it, with the job reference added.
 * Written as text around its few varying values (counter, host, uuid, times): building it
 * with JSON.stringify and a random UUID cost the producers 37 µs an event, 9 % of the
 * machine at 5,000 events/s, taken from the API the test measures.
 */
function eventJson(jobId: number, counter: number, now: string): string {
  const uuid = `a0b1c2d3-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
  const host = `web-${counter % 50}`;
  return `{"uuid":"${uuid}","counter":${counter},"job_id":${jobId},"event":"runner_on_ok","parent_uuid":"a0b1c2d3-0000-4000-8000-000000000001",`
    + `"stdout":"\\u001b[0;32mok: [${host}] => {\\u001b[0m\\r\\n\\u001b[0;32m    \\"msg\\": \\"load test event ${counter}\\"\\u001b[0m\\r\\n\\u001b[0;32m}\\u001b[0m",`
    + `"start_line":${counter * 3},"end_line":${counter * 3 + 3},"verbosity":0,"pid":4242,"runner_ident":"loadtest","created":"${now.slice(0, -1)}",`
    + `"event_data":{"playbook":"site.yml","play":"Load","task":"Greet","task_action":"debug","host":"${host}","remote_addr":"${host}",`
    + `"res":{"msg":"load test event ${counter}","changed":false,"_ansible_no_log":false},"uuid":"${uuid}",`
    + `"play_uuid":"a0b1c2d3-0000-4000-8000-000000000002","task_uuid":"a0b1c2d3-0000-4000-8000-000000000003",`
    + `"resolved_action":"ansible.builtin.debug","start":"${now}","end":"${now}","duration":0.01}}`;
}

/** A producer child: pushes `rate` events/s for `seconds`, in 5 ms chunks, and prints how many and its CPU seconds. */
async function runProducer([url, queue, job, rate, seconds, first]: string[]): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const perSec = Number(rate);
  const chunk = Math.max(1, Math.round(perSec / 200));
  const start = performance.now();
  const end = start + Number(seconds) * 1000;
  let counter = Number(first);
  let sent = 0;
  while (performance.now() < end) {
    const now = new Date().toISOString();
    const items: string[] = [];
    for (let i = 0; i < chunk; i++) items.push(eventJson(Number(job), counter++, now));
    await redis.rpush(queue, ...items);
    sent += items.length;
    const wait = start + (sent / perSec) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ sent, seconds: (performance.now() - start) / 1000, cpu_s: (cpu.user + cpu.system) / 1e6 })}\n`);
  redis.disconnect();
}

interface Session { stack: Stack; http: Pool; db: pg.Client; auth: Record<Who, string> }

async function open(dataDir: string, cacheMb: number, set: ScaleSet | undefined): Promise<Session & { set: ScaleSet }> {
  console.error(`starting playstream (data dir ${dataDir}, read cache ${cacheMb ? `${cacheMb} MB` : 'off'})`);
  const stack = await startStack(root, dataDir, PASSWORD, { PLAYSTREAM_API_CACHE_MB: String(cacheMb) });
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  if (!set) {
    const t0 = performance.now();
    console.error(`seeding ${JOBS} jobs, ${HOSTS} hosts and a job of ${EVENTS} events in SQL (minutes)`);
    const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 1 });
    set = await seedApiScale(pool, { jobs: JOBS, templates: TEMPLATES, hosts: HOSTS, events: EVENTS }, await hashPassword(SCALE_PASSWORD));
    for (const t of ['unified_jobs', 'unified_job_counts', 'hosts', 'job_events']) await pool.query(`VACUUM ANALYZE ${t}`);
    await pool.end();
    fs.writeFileSync(path.join(dataDir, 'loadtest-seed.json'), JSON.stringify({ jobs: JOBS, events: EVENTS, set }));
    console.error(`seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await searchIndexBuilt(db, set.bigJobId);
  const http = new Pool(`http://127.0.0.1:${stack.port}`, { connections: CONCURRENCY + 2, pipelining: 1 });
  const token = async (user: string) => {
    const res = await http.request({ method: 'POST', path: '/api/v2/tokens/', body: JSON.stringify({ scope: 'write', description: 'loadtest' }),
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${user}:${SCALE_PASSWORD}`).toString('base64')}` } });
    const body = (await res.body.json()) as { token?: string };
    if (res.statusCode !== 201 || !body.token) throw new Error(`cannot create a token for ${user}: HTTP ${res.statusCode}`);
    return `Bearer ${body.token}`;
  };
  return { stack, http, db, set, auth: { admin: await token('scale-admin'), user: await token('scale-user') } };
}

/**
 * Waits for the dispatcher to index the big job's partition for stdout search (its first pass
 * after start does, db/event-search-index.ts; the seed makes the job two hours old), so every
 * phase measures an install whose finished jobs are searchable, as they are an hour on.
 */
async function searchIndexBuilt(db: pg.Client, jobId: number): Promise<void> {
  if (/^(0|false|no|off)$/i.test(process.env.PLAYSTREAM_EVENT_SEARCH_INDEX ?? '')) return;
  const t0 = performance.now();
  const { rows: [job] } = await db.query<{ created: Date }>('SELECT created FROM unified_jobs WHERE id = $1', [jobId]);
  const index = searchIndexName(partitionName('job_events', job.created));
  for (;;) {
    const { rows } = await db.query(
      'SELECT x.indisvalid FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid WHERE c.relname = $1', [index]);
    if (rows[0]?.indisvalid) break;
    if (performance.now() - t0 > 600_000) throw new Error('the big job\'s partition got no stdout search index in 10 minutes (dispatcher log)');
    await new Promise((r) => setTimeout(r, 2000));
  }
  console.error(`stdout search index of the big job's partition: ready after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

async function close(s: Session): Promise<void> {
  await s.db.end().catch(() => {});
  await s.http.close();
  await s.stack.stop();
}

/** Sends one request and reads its body whole without parsing it; resolves to its status. */
async function send(http: Pool, auth: string, r: Request): Promise<{ status: number; bytes: number }> {
  const res = await http.request({ method: r.method, path: r.path, body: r.body,
    headers: { authorization: auth, ...(r.body ? { 'content-type': 'application/json' } : {}) } });
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length;
  return { status: res.statusCode, bytes };
}

// ---- phase 1 ------------------------------------------------------------------------

const TARGET = { listP50: 10, listMax: 50, detail: 3, eventPage: 10, stdoutSearch: 1000 };

async function singleClient(s: Session & { set: ScaleSet }): Promise<{ rows: string[]; misses: string[] }> {
  const set = s.set;
  const big = set.bigJobId;
  const job = set.firstJobId + 1234;
  const urls: [Who, string, 'list' | 'detail' | 'event' | 'search'][] = [
    ['admin', '/api/v2/jobs/', 'list'],
    ['admin', '/api/v2/jobs/?page=2000', 'list'],
    ['admin', '/api/v2/jobs/?order_by=-id&page=2000', 'list'],
    ['admin', '/api/v2/jobs/?status=failed', 'list'],
    ['admin', '/api/v2/jobs/?status=failed&page=1000', 'list'],
    ['admin', '/api/v2/jobs/?order_by=-finished', 'list'],
    ['admin', '/api/v2/jobs/?order_by=-finished&page=2000', 'list'],
    ['admin', '/api/v2/jobs/?order_by=name&page=500', 'list'],
    ['admin', '/api/v2/jobs/?order_by=-created&page=2000', 'list'],
    ['admin', `/api/v2/jobs/?job_template=${set.templateIds[3]}`, 'list'],
    ['admin', `/api/v2/jobs/?launched_by_id=${set.launcherIds[2]}&page=100`, 'list'],
    ['admin', '/api/v2/jobs/?status=running', 'list'],
    ['admin', `/api/v2/jobs/?inventory=${set.inventoryIds?.[1] ?? 3}&page=2000`, 'list'],
    ['admin', '/api/v2/jobs/?order_by=-started&page=2000', 'list'],
    ['admin', '/api/v2/jobs/?created__gt=2026-01-10T00:00:00Z&order_by=created&page=100', 'list'],
    ['admin', '/api/v2/jobs/?name__icontains=template%200042', 'list'],
    ['admin', '/api/v2/jobs/?search=template%200042', 'list'],
    ['admin', '/api/v2/unified_jobs/', 'list'],
    ['admin', '/api/v2/unified_jobs/?order_by=-finished', 'list'],
    ['admin', '/api/v2/unified_jobs/?order_by=-finished&page=2000', 'list'],
    ['admin', '/api/v2/unified_jobs/?status=failed&order_by=-id&page=500', 'list'],
    ['admin', '/api/v2/hosts/?search=host-0421', 'list'],
    ['admin', '/api/v2/hosts/?page=200', 'list'],
    ['admin', '/api/v2/job_templates/?page=5', 'list'],
    ['admin', `/api/v2/jobs/${job}/`, 'detail'],
    ['user', '/api/v2/jobs/', 'list'],
    ['user', '/api/v2/jobs/?page=2000', 'list'],
    ['user', '/api/v2/jobs/?order_by=-finished&page=100', 'list'],
    ['user', '/api/v2/jobs/?status=failed', 'list'],
    ['user', '/api/v2/unified_jobs/?order_by=-finished&page=50', 'list'],
    ['user', '/api/v2/job_templates/', 'list'],
    ['admin', `/api/v2/jobs/${big}/job_events/`, 'event'],
    ['admin', `/api/v2/jobs/${big}/job_events/?page=20000`, 'event'],
    ['admin', `/api/v2/jobs/${big}/job_events/?page=39999`, 'event'],
    ['admin', `/api/v2/jobs/${big}/job_events/?order_by=-counter&page=30000`, 'event'],
    ['admin', `/api/v2/jobs/${big}/job_events/?counter__gt=500000&page_size=100`, 'event'],
    ['admin', `/api/v2/jobs/${big}/job_events/?event=runner_on_failed&page=10`, 'event'],
    ['admin', `/api/v2/jobs/${big}/job_events/?failed=true&page=100`, 'event'],
    ['admin', `/api/v2/jobs/${big}/job_events/?stdout__icontains=item%20777777`, 'search'],
  ];
  // A controller in production answers from warm code: one pass over every URL first, so the
  // first URL measured does not carry the web process's compilation (it read 21 ms, 17 ms of
  // CPU, where the same page later took 5).
  for (const [who, p, kind] of urls) {
    if (kind === 'search') continue;
    const res = await s.http.request({ method: 'GET', path: p, headers: { authorization: s.auth[who] } });
    await res.body.arrayBuffer();
  }
  const rows = ['| caller | URL | status | count | p50 ms | max ms | web CPU ms/GET | target |', '|---|---|---|---|---|---|---|---|'];
  const webPid = s.stack.pidOf('web');
  const misses: string[] = [];
  for (const [who, p, kind] of urls) {
    const n = kind === 'search' ? 3 : REPEAT;
    const times: number[] = [];
    let status = 0;
    let count: unknown;
    // The first GETs of a statement on a connection plan it afresh: warm up, then measure.
    const warm = kind === 'search' ? 1 : 3;
    let cpu0 = 0;
    for (let i = 0; i < warm + n; i++) {
      if (i === warm) cpu0 = processCpuSeconds(webPid);
      const t = performance.now();
      const res = await s.http.request({ method: 'GET', path: p, headers: { authorization: s.auth[who] } });
      const text = await res.body.text();
      if (i >= warm) times.push(performance.now() - t);
      status = res.statusCode;
      if (i === 0) count = status === 200 ? (JSON.parse(text) as { count?: number }).count : text.slice(0, 100);
    }
    const webMs = ((processCpuSeconds(webPid) - cpu0) * 1000) / n;
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(n / 2)];
    const max = times[n - 1];
    const [target, ok] = kind === 'list' ? [`p50 ≤ ${TARGET.listP50}, max ≤ ${TARGET.listMax}`, p50 <= TARGET.listP50 && max <= TARGET.listMax]
      : kind === 'detail' ? [`≤ ${TARGET.detail}`, p50 <= TARGET.detail]
        : kind === 'event' ? [`≤ ${TARGET.eventPage}`, p50 <= TARGET.eventPage] : [`≤ ${TARGET.stdoutSearch}`, max <= TARGET.stdoutSearch];
    const shown = p.replace(String(big), 'BIG').replace(`/jobs/${job}/`, '/jobs/N/');
    rows.push(`| ${who} | \`${shown}\` | ${status} | ${count ?? ''} | ${p50.toFixed(1)} | ${max.toFixed(1)} | ${webMs.toFixed(1)} | ${target}${ok && status === 200 ? '' : ' **missed**'} |`);
    if (!ok || status !== 200) misses.push(`${who} ${shown}`);
  }
  return { rows, misses };
}

// ---- phases 2-4 ---------------------------------------------------------------------

/**
 * Writes as another process would, until `end`: each probe UPDATEs the newest job straight
 * in SQL, then GETs the first jobs page on its own connection until the change shows.
 * `stale_after_ms` is the latest a GET was issued after the commit and still answered from
 * before it (the read cache's staleness window for writes it hears of by NOTIFY).
 */
async function probeStaleness(s: Session, end: number): Promise<Record<string, number | null>> {
  const http = new Pool(`http://127.0.0.1:${s.stack.port}`, { connections: 1, pipelining: 1 });
  const probes: { stale: number | null; visible: number }[] = [];
  try {
    for (let n = 1; performance.now() + 2000 < end; n++) {
      await new Promise((r) => setTimeout(r, 1000));
      const marker = `loadtest probe ${n} ${crypto.randomUUID()}`;
      await s.db.query(`UPDATE unified_jobs SET job_explanation = $1 WHERE id = (SELECT max(id) FROM unified_jobs WHERE kind = 'job')`, [marker]);
      const committed = performance.now();
      let stale: number | null = null;
      for (;;) {
        const issued = performance.now() - committed;
        if (issued > 10_000) throw new Error(`probe ${n}: the change is not on the page 10 s after its commit`);
        const res = await http.request({ method: 'GET', path: OLD_URL, headers: { authorization: s.auth.admin } });
        if ((await res.body.text()).includes(marker)) break;
        stale = issued;
      }
      probes.push({ stale, visible: performance.now() - committed });
    }
  } finally {
    await http.close();
  }
  const stale = probes.map((p) => p.stale).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const visible = probes.map((p) => p.visible).sort((a, b) => a - b);
  const ms = (x: number | undefined) => (x === undefined ? null : Number(x.toFixed(1)));
  return { probes: probes.length, probes_with_stale_reads: stale.length, stale_after_ms_max: ms(stale.at(-1)),
    visible_after_ms_p50: ms(percentile(visible, 0.5)), visible_after_ms_max: ms(visible.at(-1)) };
}

interface LoadResult {
  label: string; requests: number; errors: number; rps: number; p50_ms: number; p95_ms: number; p99_ms: number; max_ms: number;
  per_class: Record<string, { n: number; p50_ms: number; p99_ms: number; errors: number }>;
  events_offered_per_s: number; events_sent_per_s: number; events_stored_in_window_per_s: number; events_stored_after_s: number | null; jobs_finished: number;
  cpu_s: { web: number; receiver: number; dispatcher: number; load_generator: number; producers: number }; load_generator_cpu_share_pct: number;
  machine_busy_pct: number; error_samples: string[]; staleness?: Record<string, number | null>;
  budget: { ingest_alone_cores: number; ingest_process_cores: number; load_generator_ms_per_req: number; left_ms_per_req_at_target: number; took_ms_per_req: number; web_ms_per_req: number };
}

/** A running job the producers feed, created now (so its events land in a current partition). */
async function ingestJob(db: pg.Client, set: ScaleSet): Promise<number> {
  const { rows } = await db.query(
    `INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, playbook, status, created, started, launch_type, created_by_id)
     VALUES ('job', 'Load test ingest', $1, $2, 'site.yml', 'running', date_trunc('second', now()), now(), 'manual', $3) RETURNING id, created`,
    [set.templateIds[0], set.orgIds[0], set.adminId]);
  await db.query('SELECT ensure_event_partitions($1)', [rows[0].created]);
  return Number(rows[0].id);
}

/** Until `end`: every second the oldest running seeded job finishes and a new one starts, as a busy controller's would. */
async function finishJobs(db: pg.Client, set: ScaleSet, skip: number, end: number): Promise<number> {
  let n = 0;
  while (performance.now() + 1000 < end) {
    await new Promise((r) => setTimeout(r, 1000));
    await db.query(
      `WITH done AS (
         UPDATE unified_jobs SET status = 'successful', finished = now(), elapsed = 1, event_processing_finished = true, modified = now()
          WHERE id = (SELECT id FROM unified_jobs WHERE status = 'running' AND kind = 'job' AND id <> $1 ORDER BY id LIMIT 1)
         RETURNING unified_job_template_id, organization_id, inventory_id, project_id, name, created_by_id)
       INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, inventory_id, project_id, playbook, status, created, started, launch_type, created_by_id)
       SELECT 'job', name, unified_job_template_id, organization_id, inventory_id, project_id, 'site.yml', 'running', now(), now(), 'manual', created_by_id FROM done`,
      [skip]);
    n++;
  }
  void set;
  return n;
}

async function mixedLoad(s: Session & { set: ScaleSet }, label: string, oneUrl: boolean, cached: boolean): Promise<LoadResult> {
  const classes = urlClasses(s.set, { jobs: JOBS, hosts: HOSTS, events: EVENTS });
  const choose = chooser(classes);
  const job = await ingestJob(s.db, s.set);
  const stored = async () => Number((await s.db.query('SELECT count(*) AS c FROM job_events WHERE job_id = $1', [job])).rows[0].c);
  // Warm-up: connections, prepared plans.
  const warmEnd = performance.now() + 3000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, c) => {
    const rnd = random(1_000_000 + c);
    while (performance.now() < warmEnd) await send(s.http, s.auth.admin, choose(rnd).make(rnd, 'admin')).catch(() => undefined);
  }));
  const producers = Array.from({ length: PRODUCERS }, (_, i) => new Promise<{ sent: number; cpu_s: number }>((resolve, reject) => {
    const child = spawn(process.execPath, [process.argv[1], 'producer', s.stack.redisUrl, 'callback_tasks', String(job),
      String(EVENT_RATE / PRODUCERS), String(DURATION + 1 + INGEST_ALONE_S), String(FIRST_COUNTER + i * 100_000_000)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d) => { out += d; });
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`producer exited ${code}`))));
  }));
  await new Promise((r) => setTimeout(r, 1000));
  // The ingest alone (producers, receiver, Redis, Postgres storing, every process idling
  // around them), before any client: what the machine spends whatever the API serves.
  const alone0 = machineCpu();
  await new Promise((r) => setTimeout(r, INGEST_ALONE_S * 1000));
  const alone1 = machineCpu();
  const ingestCores = ((alone1.busy - alone0.busy) / (alone1.total - alone0.total)) * os.cpus().length;
  const before = await stored();
  const pids = { web: s.stack.pidOf('web'), receiver: s.stack.pidOf('receiver'), dispatcher: s.stack.pidOf('dispatcher') };
  const cpu0 = { web: processCpuSeconds(pids.web), receiver: processCpuSeconds(pids.receiver), dispatcher: processCpuSeconds(pids.dispatcher), self: process.cpuUsage(), machine: machineCpu() };
  const latencies: number[] = [];
  const perClass = new Map<string, { t: number[]; errors: number }>();
  const errorSamples: string[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + DURATION * 1000;
  const finisher = finishJobs(s.db, s.set, job, end);
  const probe = cached ? probeStaleness(s, end) : undefined;
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, c) => {
    const rnd = random(c + 1);
    const who: Who = c % 2 === 0 ? 'admin' : 'user';
    while (performance.now() < end) {
      const cls = oneUrl ? undefined : choose(rnd);
      const req: Request = cls ? cls.make(rnd, who) : { method: 'GET', path: OLD_URL };
      const name = cls?.name ?? 'first jobs page';
      const t = performance.now();
      const res = await send(s.http, s.auth[oneUrl ? 'admin' : who], req).catch((err) => ({ status: 0, bytes: 0, err }));
      const dt = performance.now() - t;
      latencies.push(dt);
      const entry = perClass.get(name) ?? { t: [], errors: 0 };
      entry.t.push(dt);
      if (res.status < 200 || res.status > 299) {
        errors++;
        entry.errors++;
        if (errorSamples.length < 10) errorSamples.push(`${res.status} ${who} ${req.method} ${req.path}`);
      }
      perClass.set(name, entry);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const own = process.cpuUsage(cpu0.self);
  const machine = machineCpu();
  const cpu = {
    web: processCpuSeconds(pids.web) - cpu0.web, receiver: processCpuSeconds(pids.receiver) - cpu0.receiver,
    dispatcher: processCpuSeconds(pids.dispatcher) - cpu0.dispatcher, load_generator: (own.user + own.system) / 1e6,
  };
  const after = await stored();
  const jobsFinished = await finisher;
  const staleness = await probe;
  const produced = await Promise.all(producers);
  const sent = produced.reduce((a, p) => a + p.sent, 0);
  // The producers' whole life (start, the window, its last second): close to, a little over, their CPU in the window.
  const producerCpu = produced.reduce((a, p) => a + p.cpu_s, 0);
  const drain = performance.now();
  let total = after;
  while (total < sent && performance.now() - drain < 60_000) {
    await new Promise((r) => setTimeout(r, 250));
    total = await stored();
  }
  await s.db.query(`UPDATE unified_jobs SET status = 'successful', finished = now() WHERE id = $1`, [job]);
  latencies.sort((a, b) => a - b);
  const busyJiffies = machine.busy - cpu0.machine.busy;
  const r1 = (x: number) => Number(x.toFixed(1));
  const r2 = (x: number) => Number(x.toFixed(2));
  // The CPU budget per request at TARGET_RPS, in ms, for every process but the ingest's own
  // (receiver, producers) and the load generator: web, Postgres, Redis, dispatcher, which serve
  // the requests and also store the events. Left: the cores less the receiver's and producers'
  // share in this window and the generator's at TARGET_RPS. Took: the machine's busy time in
  // this window less the same three (at this run's rate, the events' storing weighs more per
  // request than it would at TARGET_RPS: the web process's own figure is the one to compare). The producers report their whole life; their window
  // share is taken in proportion to time.
  const ncores = os.cpus().length;
  const n = Math.max(1, latencies.length);
  const generatorMs = (cpu.load_generator / n) * 1000;
  const ingestS = cpu.receiver + (producerCpu * DURATION) / (DURATION + 1 + INGEST_ALONE_S);
  const leftMs = ((ncores - ingestS / elapsed) * 1000) / TARGET_RPS - generatorMs;
  const tookMs = ((busyJiffies / TICK - ingestS - cpu.load_generator) / n) * 1000;
  return {
    label, requests: latencies.length, errors, rps: Math.round(latencies.length / elapsed),
    p50_ms: r1(percentile(latencies, 0.5)), p95_ms: r1(percentile(latencies, 0.95)), p99_ms: r1(percentile(latencies, 0.99)), max_ms: r1(latencies.at(-1) ?? NaN),
    per_class: Object.fromEntries([...perClass].map(([k, v]) => {
      const t = v.t.sort((a, b) => a - b);
      return [k, { n: t.length, p50_ms: r1(percentile(t, 0.5)), p99_ms: r1(percentile(t, 0.99)), errors: v.errors }];
    })),
    events_offered_per_s: EVENT_RATE, events_sent_per_s: Math.round(sent / (DURATION + 1 + INGEST_ALONE_S)), events_stored_in_window_per_s: Math.round((after - before) / elapsed),
    events_stored_after_s: total >= sent ? r1((performance.now() - drain) / 1000) : null, jobs_finished: jobsFinished,
    cpu_s: { web: r1(cpu.web), receiver: r1(cpu.receiver), dispatcher: r1(cpu.dispatcher), load_generator: r1(cpu.load_generator), producers: r1(producerCpu) },
    load_generator_cpu_share_pct: Math.round((100 * cpu.load_generator * 100) / Math.max(1, busyJiffies)),
    machine_busy_pct: Math.round((100 * busyJiffies) / (machine.total - cpu0.machine.total)),
    error_samples: errorSamples, staleness,
    budget: {
      ingest_alone_cores: r2(ingestCores), ingest_process_cores: r2(ingestS / elapsed), load_generator_ms_per_req: r2(generatorMs),
      left_ms_per_req_at_target: r2(leftMs), took_ms_per_req: r2(tookMs), web_ms_per_req: r2((cpu.web / n) * 1000),
    },
  };
}

function describeLoad(r: LoadResult): string {
  return `${r.label}: ${r.rps} req/s, p50 ${r.p50_ms} / p95 ${r.p95_ms} / p99 ${r.p99_ms} ms (max ${r.max_ms}), ${r.errors} errors of ${r.requests}; `
    + `events ${r.events_offered_per_s}/s offered, ${r.events_sent_per_s}/s sent by the producers, ${r.events_stored_in_window_per_s}/s stored in the window, all stored ${r.events_stored_after_s ?? 'NOT'} s after; `
    + `${r.jobs_finished} jobs finished; CPU s web ${r.cpu_s.web} / receiver ${r.cpu_s.receiver} / dispatcher ${r.cpu_s.dispatcher} / load generator ${r.cpu_s.load_generator} `
    + `(${r.load_generator_cpu_share_pct}% of the busy CPU) / event producers ${r.cpu_s.producers}; machine ${r.machine_busy_pct}% busy`
    + `\n  CPU per request for web, Postgres, Redis and dispatcher at ${TARGET_RPS} req/s: ${r.budget.left_ms_per_req_at_target} ms left (${os.cpus().length} cores, less the receiver `
    + `and producers' ${r.budget.ingest_process_cores} cores, less the load generator's ${r.budget.load_generator_ms_per_req} ms per request); taken here: ${r.budget.took_ms_per_req} ms, `
    + `the web process alone ${r.budget.web_ms_per_req} (the rest, Postgres and Redis, also store the events). `
    + `The ingest alone, before the clients: ${r.budget.ingest_alone_cores} cores`
    + (r.staleness ? `; staleness probe (another process writes the first page's newest job every second): ${JSON.stringify(r.staleness)}` : '');
}

async function main(): Promise<void> {
  const keep = process.env.LOADTEST_DATA_DIR;
  const dataDir = keep ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-loadtest-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const seedFile = path.join(dataDir, 'loadtest-seed.json');
  let set: ScaleSet | undefined;
  if (fs.existsSync(seedFile)) {
    const saved = JSON.parse(fs.readFileSync(seedFile, 'utf8'));
    if (saved.jobs === JOBS && saved.events === EVENTS) set = saved.set;
    else throw new Error(`${dataDir} holds a data set of ${saved.jobs} jobs / ${saved.events} events, not ${JOBS} / ${EVENTS}: use another LOADTEST_DATA_DIR`);
  }
  const report: Record<string, unknown> = { cpus: os.cpus().length, memory_gib: Math.round(os.totalmem() / 2 ** 30), jobs: JOBS, events: EVENTS, hosts: HOSTS };
  try {
    if (PHASES.has(1) || PHASES.has(2) || !set) {
      const s = await open(dataDir, 0, set);
      set = s.set;
      try {
        if (PHASES.has(1)) {
          const single = await singleClient(s);
          console.log(`\nSingle client, read cache off (after one pass over every URL and 3 warm-up GETs each, ${REPEAT} GETs per URL; 1 + 3 for stdout__icontains):\n${single.rows.join('\n')}`);
          console.log(single.misses.length ? `targets missed: ${single.misses.join('; ')}` : 'every single-client target met');
          report.single_client_misses = single.misses;
        }
        if (PHASES.has(2)) {
          console.log('\nURL mix (weight, class, example):');
          for (const c of urlClasses(set, { jobs: JOBS, hosts: HOSTS, events: EVENTS })) console.log(`  ${c.weight}\t${c.name}\t${c.example}`);
          const r = await mixedLoad(s, `mixed, ${CONCURRENCY} clients, cache off`, false, false);
          console.log(describeLoad(r));
          report.mixed_cache_off = r;
        }
      } finally {
        await close(s);
      }
    }
    if (PHASES.has(3) || PHASES.has(4)) {
      const s = await open(dataDir, 64, set);
      try {
        if (PHASES.has(3)) {
          const r = await mixedLoad(s, `mixed, ${CONCURRENCY} clients, cache on`, false, true);
          console.log(describeLoad(r));
          report.mixed_cache_on = r;
        }
        if (PHASES.has(4)) {
          const r = await mixedLoad(s, `one URL (${OLD_URL}), ${CONCURRENCY} clients, cache on`, true, true);
          console.log(describeLoad(r));
          report.one_url_cache_on = r;
        }
      } finally {
        await close(s);
      }
    }
    report.loadavg = os.loadavg().map((l) => Number(l.toFixed(1)));
    console.log(`\n${JSON.stringify(report)}`);
  } finally {
    if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'producer') await runProducer(process.argv.slice(3));
else await main();
