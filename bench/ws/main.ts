import { type ChildProcess, fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { runWeb } from '../../src/api/web-main.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { sharedFixture } from '../../src/paths.js';
import { runReceiver } from '../../src/pipeline/receiver-main.js';
import { decodeEventFrame, eventFrameGroup } from '../../src/pipeline/bus-frame.js';
import { redisKeys } from '../../src/redis-keys.js';
import { hashPassword } from '../../src/security/passwords.js';
import { freePort } from '../../src/services/free-port.js';
import { createDatabaseIfMissing, startEmbeddedPostgres, withDatabase } from '../../src/services/postgres.js';
import { startEmbeddedRedis } from '../../src/services/redis.js';
import { treeCpuSeconds } from '../pipeline/cpu-accounting.js';
import { runBaselineServer } from './baseline-server.js';
import { type ClientReport, type ClientSpec, runClients, SAMPLE_EVERY } from './clients.js';

/**
 * `npm run bench:ws`: events RPUSHed at a fixed offered rate → the real receiver (own
 * process) → Postgres → bus → the web server under test (own process) → client processes
 * (2, sharing the two cores with everything else), for Playstream's uWS server and the
 * naive `ws` baseline, one after the other on the same Postgres/Redis.
 */
const self = fileURLToPath(import.meta.url);
const role = process.argv[2];
const FIXTURE = sharedFixture('runner-events.jsonl');
const CLIENT_PROCESSES = 2;


/** A role child; `resubscribed` counts the web node's "re-subscribed to the broadcast bus" (Redis dropped its subscription). */
function child(args: string[], env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; msg: Record<string, unknown>; resubscribed: () => number }> {
  const proc = fork(self, args, { env, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let err = '';
  let resubscribed = 0;
  proc.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    err = (err + text).slice(-4000);
    resubscribed += text.split('re-subscribed to the broadcast bus').length - 1;
    if (args[0] === 'clients' || args[0] === 'web') process.stderr.write(d);
  });
  return new Promise((resolve, reject) => {
    proc.once('message', (msg: Record<string, unknown>) => resolve({ proc, msg, resubscribed: () => resubscribed }));
    proc.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${err}`)));
  });
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

const quantile = (s: number[], p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);

interface Result { offered: number; delivered: number; received: number; expected: number; seconds: number; p50: number; p99: number;
  commitP50: number; commitP99: number; busP50: number; busP99: number; outOfOrder: number; statusChanges: number;
  /** The server process's CPU (user + system) from the clients' connect to the end of delivery, per message delivered. */
  serverCpuUsPerMsg: number; resubscribed: number;
  /** The client processes' own event-loop delay (worst process's p99 and max, ms) and CPU per message received. */
  clientLoopP99: number; clientLoopMax: number; clientCpuUsPerMsg: number }


/**
 * Listens on the bus beside the server under test and notes when each sampled event
 * (counter % SAMPLE_EVERY == 0) was announced, so `delivered - announced` is the websocket
 * path alone (server fan-out + client), apart from the receiver's COPY and commit.
 */
function busTap(redisUrl: string, channel: string): { announced: Map<number, number>; ready: Promise<unknown>; close(): void } {
  const announced = new Map<number, number>();
  const sub = new Redis(redisUrl);
  sub.on('messageBuffer', (_c: Buffer, payload: Buffer) => {
    const group = eventFrameGroup(payload);
    if (!group.startsWith('job_events-')) return;
    const now = Date.now();
    const job = Number(group.slice('job_events-'.length));
    // The frame's header has every message's counter (bus-frame.ts).
    for (const c of decodeEventFrame(payload).counters) {
      if (c % SAMPLE_EVERY === 0 && !announced.has(job * 1e7 + c)) announced.set(job * 1e7 + c, now);
    }
  });
  return { announced, ready: sub.subscribe(channel), close: () => sub.disconnect() };
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-bench-ws-'));
  fs.chmodSync(root, 0o755);
  const [pg, redisServer] = await Promise.all([
    startEmbeddedPostgres({ dir: path.join(root, 'pg'), autoInstall: true, database: 'postgres',
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } }),
    startEmbeddedRedis({ dir: path.join(root, 'redis'), autoInstall: true, appendfsync: 'no', persistence: false }),
  ]);
  const dbUrl = withDatabase(pg.url, 'bench_ws');
  await createDatabaseIfMissing(pg.url, 'bench_ws');
  const pool = createPool(dbUrl, { max: 4 });
  await migrate(pool);
  await pool.query(`INSERT INTO users (username, email, password, is_superuser) VALUES ('admin', 'a@b', $1, true)`, [await hashPassword('bench')]);
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: dbUrl, REDIS_URL: redisServer.url, PLAYSTREAM_DATA_DIR: root,
    SECRET_KEY: 'b'.repeat(40), PLAYSTREAM_LOG_LEVEL: 'warn', PLAYSTREAM_AUTO_INSTALL: 'false' };
  const keys = redisKeys({ redisPrefix: '', callbackQueue: 'callback_tasks' });
  const redis = new Redis(redisServer.url);
  const receiver = await child(['receiver'], env);
  const template = fs.readFileSync(FIXTURE, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e.event === 'runner_on_ok')!;
  // A bearer token, not basic auth: 1,000 sockets opening at once with basic auth miss the
  // password cache together and cost 1,000 scrypt verifications (≈ 40 s on two cores),
  // which is set-up, not what this benchmark measures (browsers use session cookies).
  const token = crypto.randomBytes(30).toString('base64url');
  await pool.query(`INSERT INTO api_tokens (user_id, token_hash, description, scope, expires)
    SELECT id, $1, 'bench:ws', 'read', now() + interval '1 day' FROM users WHERE username = 'admin'`,
  [crypto.createHash('sha256').update(token).digest('hex')]);
  const auth = `Bearer ${token}`;

  async function newJobs(n: number): Promise<number[]> {
    const { rows } = await pool.query<{ id: number }>(
      `INSERT INTO unified_jobs (kind, name, status) SELECT 'job', 'bench', 'running' FROM generate_series(1, $1) RETURNING id`, [n]);
    return rows.map((r) => r.id);
  }

  /** Offers `rate` events/s for `seconds` spread over `jobs`, measures what the clients got. */
  async function run(server: 'playstream' | 'baseline', opts: { clients: number; jobsN: number; rate: number; seconds: number;
    statusChanged: boolean; batch?: boolean }): Promise<Result> {
    const port = await freePort();
    const srv = server === 'playstream'
      ? await child(['web'], { ...env, PORT: String(port) })
      : await child(['baseline', String(port)], env);
    const jobs = await newJobs(opts.jobsN);
    const tap = busTap(redisServer.url, keys.eventFrameChannel);
    await tap.ready;
    const per = Math.ceil(opts.clients / CLIENT_PROCESSES);
    const procs = await Promise.all(Array.from({ length: CLIENT_PROCESSES }, (_, i) => child(['clients', JSON.stringify({
      url: `ws://127.0.0.1:${port}/websocket/`, count: Math.min(per, opts.clients - i * per), jobs: i % 2 ? [...jobs].reverse() : jobs,
      statusChanged: opts.statusChanged, batch: opts.batch ?? false, auth } satisfies ClientSpec)], env)));
    const counters = new Map(jobs.map((j) => [j, 0]));
    const cpu0 = treeCpuSeconds(srv.proc.pid!);
    const tickMs = 10;
    const perTick = opts.rate * tickMs / 1000;
    const started = Date.now();
    let sent = 0;
    let j = 0;
    while (Date.now() - started < opts.seconds * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * opts.rate) - sent;
      if (due > 0) {
        const batch: string[] = [];
        for (let k = 0; k < due; k++) {
          const job = jobs[j++ % jobs.length];
          const counter = counters.get(job)! + 1;
          counters.set(job, counter);
          batch.push(JSON.stringify({ ...template, job_id: job, counter, uuid: `${job}-${counter}`,
            created: new Date().toISOString().slice(0, -1) }));
        }
        await redis.rpush(keys.callbackQueue, ...batch);
        sent += due;
        if (opts.statusChanged && Math.random() < perTick / 500) {
          await redis.publish(keys.broadcastChannel, JSON.stringify({ group: 'jobs-status_changed',
            messages: [{ group_name: 'jobs', unified_job_id: jobs[0], status: 'running', type: 'job' }] }));
        }
      }
      await new Promise((r) => setTimeout(r, tickMs));
    }
    const elapsed = (Date.now() - started) / 1000;
    const watchers = opts.clients / opts.jobsN;
    const expected = sent * watchers;
    // Let delivery finish (or give up after 10 s: a server that fell behind shows it).
    let reports: ClientReport[] = [];
    const collect = async () => {
      reports = await Promise.all(procs.map(({ proc }) => new Promise<ClientReport>((resolve) => {
        if (proc.exitCode !== null) {
          console.error('a client process died');
          return resolve({ received: 0, statusChanges: 0, samples: [], fromCommit: [], outOfOrder: 0, arrivals: [] });
        }
        proc.once('message', (m: { report: ClientReport }) => resolve(m.report));
        proc.send({ type: 'report' });
      })));
    };
    const all: ClientReport = { received: 0, statusChanges: 0, samples: [], fromCommit: [], outOfOrder: 0, arrivals: [] };
    const fromBus: number[] = [];
    const loops = new Map<number, NonNullable<ClientReport['loop']>>();
    const drainStart = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      await collect();
      reports.forEach((r, i) => { if (r.loop) loops.set(i, r.loop); });
      for (const r of reports) {
        all.received += r.received; all.statusChanges += r.statusChanges; all.outOfOrder += r.outOfOrder;
        for (const s of r.samples) all.samples.push(s);
        for (const s of r.fromCommit) all.fromCommit.push(s);
        for (let i = 0; i < r.arrivals.length; i += 3) {
          const at = tap.announced.get(r.arrivals[i] * 1e7 + r.arrivals[i + 1]);
          if (at !== undefined) fromBus.push(r.arrivals[i + 2] - at);
        }
      }
      if (all.received >= expected || Date.now() - drainStart > 10_000) break;
    }
    const deliverySeconds = (Math.max(Date.now() - 250, started) - started) / 1000;
    const serverCpu = treeCpuSeconds(srv.proc.pid!) - cpu0;
    for (const { proc } of procs) proc.send({ type: 'exit' });
    await Promise.all([...procs.map((p) => stop(p.proc)), stop(srv.proc)]);
    tap.close();
    fromBus.sort((a, b) => a - b);
    all.samples.sort((a, b) => a - b);
    all.fromCommit.sort((a, b) => a - b);
    return { offered: Math.round(sent / elapsed), delivered: Math.round(all.received / Math.max(elapsed, deliverySeconds)),
      received: all.received, expected, seconds: elapsed, p50: quantile(all.samples, 0.5), p99: quantile(all.samples, 0.99),
      commitP50: quantile(all.fromCommit, 0.5), commitP99: quantile(all.fromCommit, 0.99),
      busP50: quantile(fromBus, 0.5), busP99: quantile(fromBus, 0.99),
      outOfOrder: all.outOfOrder, statusChanges: all.statusChanges,
      serverCpuUsPerMsg: Math.round((serverCpu * 1e6) / Math.max(1, all.received)), resubscribed: srv.resubscribed(),
      clientLoopP99: Math.round(Math.max(0, ...[...loops.values()].map((l) => l.p99Ms))),
      clientLoopMax: Math.round(Math.max(0, ...[...loops.values()].map((l) => l.maxMs))),
      clientCpuUsPerMsg: Math.round((1e6 * [...loops.values()].reduce((n, l) => n + l.cpuS, 0)) /
        Math.max(1, [...loops.values()].reduce((n, l) => n + l.messages, 0))) };
  }

  const line = (name: string, r: Result) => console.log(
    `${name.padEnd(34)} offered ${String(r.offered).padStart(6)} ev/s  delivered ${String(r.delivered).padStart(8)} msg/s  ` +
    `${r.received}/${r.expected} (${((100 * r.received) / r.expected).toFixed(1)}%)  created→client p50 ${r.p50} p99 ${r.p99} ms  ` +
    `commit→client p50 ${r.commitP50} p99 ${r.commitP99} ms  bus→client p50 ${r.busP50} p99 ${r.busP99} ms  out-of-order ${r.outOfOrder}` +
    (r.statusChanges ? `  status msgs ${r.statusChanges}` : '') +
    `  server CPU ${r.serverCpuUsPerMsg} µs/msg  bus re-subscriptions ${r.resubscribed}` +
    `  clients: loop delay p99 ${r.clientLoopP99} max ${r.clientLoopMax} ms, CPU ${r.clientCpuUsPerMsg} µs/msg`);

  const servers = (process.env.BENCH_WS_SERVERS ?? 'playstream,baseline').split(',') as ('playstream' | 'baseline')[];
  const which = process.argv.slice(2).filter((a) => /^([abc]|load)$/.test(a));
  const scenarios = which.length ? which : ['a', 'b', 'c'];
  console.log(`bench:ws on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; ` +
    `server, receiver, Postgres, Redis and ${CLIENT_PROCESSES} client processes share the machine`);
  try {
    if (scenarios.includes('load')) {
      // `npm run loadtest:ws`: loadtest/ws.k6.js's scenario (N clients on one job while events stream), Node-driven.
      const clients = Number(process.env.WS_CLIENTS ?? 200);
      const rate = Number(process.env.WS_RATE ?? 2000);
      const seconds = Number(process.env.WS_SECONDS ?? 20);
      for (const s of servers) line(`load ${clients} clients/1 job ${s}`, await run(s, { clients, jobsN: 1, rate, seconds, statusChanged: true }));
    }
    if (scenarios.includes('a')) {
      for (const s of servers) line(`(a) 10 clients/1 job ${s}`, await run(s, { clients: 10, jobsN: 1, rate: 5000, seconds: 10, statusChanged: false }));
    }
    if (scenarios.includes('b')) {
      for (const s of servers) line(`(b) 1000 clients/100 jobs ${s}`, await run(s, { clients: 1000, jobsN: 100, rate: 5000, seconds: 10, statusChanged: true }));
    }
    if (scenarios.includes('c')) {
      // Saturation: 100 clients on one job, raising the offered rate until under 95% arrives.
      const best: Record<string, number> = {};
      for (const s of servers) {
        for (const rate of [1000, 2000, 4000, 8000, 16000]) {
          const r = await run(s, { clients: 100, jobsN: 1, rate, seconds: 5, statusChanged: false });
          line(`(c) 100 clients/1 job ${s} @${rate}`, r);
          best[s] = Math.max(best[s] ?? 0, r.delivered);
          if (r.received < 0.95 * r.expected) break;
        }
      }
      console.log(`(c) best delivered msg/s: playstream ${best.playstream}, baseline ${best.baseline}, ratio ${(best.playstream / best.baseline).toFixed(2)}×`);
    }
  } finally {
    await stop(receiver.proc);
    redis.disconnect();
    await pool.end();
    await redisServer.stop();
    await pg.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (role === 'web') await runWeb();
else if (role === 'receiver') await runReceiver();
else if (role === 'baseline') await runBaselineServer(process.env.REDIS_URL!, redisKeys({ redisPrefix: '', callbackQueue: 'callback_tasks' }), Number(process.argv[3]));
else if (role === 'clients') await runClients(JSON.parse(process.argv[3]) as ClientSpec);
else await main();
