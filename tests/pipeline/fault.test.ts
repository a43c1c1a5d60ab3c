import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { redisKeys } from '../../src/redis-keys.js';
import { freePort, waitForPort } from '../../src/services/free-port.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/services/postgres.js';
import { postgresBinDirs } from '../../src/services/system-packages.js';
import { cliEntry } from '../../src/paths.js';
import { createJob, waitFor } from './support.js';

/**
 * Nothing lost, nothing doubled, across: the receiver SIGKILLed at random moments and
 * restarted; Postgres restarted (fast shutdown) mid-stream; Redis SIGKILLed and restarted
 * mid-stream. Own servers with durable settings: Postgres with fsync on (its default),
 * Redis with `appendonly yes` + `appendfsync always` (every acknowledged write is on disk
 * before the reply, so a SIGKILL loses nothing acknowledged). Restarts keep the ports, as
 * a real restart does, so clients reconnect to the same address.
 */
const TOTAL = 100_000;
let root: string;
let pg: EmbeddedPostgres;
let pool: Pool;
let redisChild: ChildProcess | undefined;
let redisPort: number;
let producer: Redis;
let receiver: ChildProcess | undefined;
let childEnv: NodeJS.ProcessEnv;
let queue: string;
let jobId: number;
const log: string[] = [];

function startRedis(): ChildProcess {
  const conf = [`port ${redisPort}`, 'bind 127.0.0.1', `dir ${path.join(root, 'redis')}`, 'save ""', 'appendonly yes',
    'appendfsync always', 'daemonize no', `logfile ${path.join(root, 'redis', 'redis.log')}`].join('\n');
  const child = spawn('redis-server', ['-'], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin!.end(conf + '\n');
  return child;
}

function startReceiverChild(): ChildProcess {
  const child = spawn(process.execPath, [process.env.PLAYSTREAM_TEST_CLI ?? cliEntry, 'receiver'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => { const s = d.toString(); fs.appendFileSync(path.join(root, 'receiver.log'), s); if (/ERROR/.test(s)) log.push(s); });
  return child;
}

async function killReceiver(): Promise<void> {
  const r = receiver!;
  const exited = new Promise((res) => r.once('exit', res));
  r.kill('SIGKILL');
  await exited;
}

function pgCtl(args: string[]): void {
  const bin = postgresBinDirs().map((d) => path.join(d, 'pg_ctl')).find((p) => fs.existsSync(p))!;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  execFileSync(bin, ['-D', path.join(root, 'postgres', 'cluster'), ...args], { uid, gid, cwd: '/', stdio: 'ignore' });
}

async function produce(from: number, to: number, midway?: () => Promise<void>): Promise<void> {
  const chunk = 250;
  const mid = from + Math.floor((to - from) / 3);
  let fired = false;
  let pending: Promise<void> | undefined;
  for (let c = from; c <= to; c += chunk) {
    const items: string[] = [];
    for (let i = c; i < Math.min(c + chunk, to + 1); i++) {
      items.push(JSON.stringify({ job_id: jobId, counter: i, event: 'runner_on_ok', uuid: crypto.randomUUID(),
        stdout: `ok: [h${i % 7}] line ${i}`, start_line: i - 1, end_line: i, created: new Date().toISOString().slice(0, -1),
        event_data: { host: `h${i % 7}`, task: 'fault', res: { changed: i % 3 === 0 } } }));
    }
    await producer.rpush(queue, ...items);
    if (!fired && midway && c >= mid) { fired = true; pending = midway(); }
    await new Promise((r) => setTimeout(r, 10));
  }
  await pending;
}

async function storedCount(): Promise<number> {
  try {
    return (await pool.query('SELECT count(*)::int AS n FROM job_events WHERE job_id = $1', [jobId])).rows[0].n;
  } catch { return -1; }
}

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-fault-'));
  fs.chmodSync(root, 0o755);
  fs.mkdirSync(path.join(root, 'redis'));
  pg = await startEmbeddedPostgres({ dir: path.join(root, 'postgres'), autoInstall: false });
  redisPort = await freePort();
  redisChild = startRedis();
  await waitForPort(redisPort);
  pool = createPool(pg.url, { max: 4, name: 'fault-test' });
  await migrate(pool);
  const prefix = `fault${crypto.randomBytes(3).toString('hex')}:`;
  childEnv = { ...process.env, DATABASE_URL: pg.url, REDIS_URL: `redis://127.0.0.1:${redisPort}/0`, PLAYSTREAM_REDIS_PREFIX: prefix,
    PLAYSTREAM_DATA_DIR: path.join(root, 'data'), PLAYSTREAM_NODE_NAME: 'fault-node', SECRET_KEY: crypto.randomBytes(32).toString('hex'),
    PLAYSTREAM_AUTO_INSTALL: 'false', PLAYSTREAM_RECEIVER_WORKERS: '2', PLAYSTREAM_LOG_LEVEL: 'warn' };
  queue = redisKeys(loadConfig(childEnv)).callbackQueue;
  producer = new Redis(redisPort, '127.0.0.1', { maxRetriesPerRequest: null, retryStrategy: () => 50 });
  producer.on('error', () => {});
  jobId = (await createJob(pool)).id;
}, 120_000);

afterAll(async () => {
  receiver?.kill('SIGKILL');
  producer?.disconnect();
  await pool?.end().catch(() => {});
  try { pgCtl(['stop', '-m', 'immediate']); } catch { /* already down */ }
  redisChild?.kill('SIGKILL');
  if (process.env.KEEP_FAULT_DIR) console.log('fault dir', root); else fs.rmSync(root, { recursive: true, force: true });
});

describe('receiver under faults', () => {
  it('stores exactly 100,000 events through receiver SIGKILLs, a Postgres restart and a Redis restart', async () => {
    receiver = startReceiverChild();
    // 1. Receiver SIGKILLed at random moments while 40,000 events stream in.
    let kills = 0;
    let streaming = true;
    const killer = (async () => {
      while (streaming || kills < 4) {
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
        await killReceiver();
        kills++;
        receiver = startReceiverChild();
      }
    })();
    await produce(1, 40_000);
    streaming = false;
    await killer;
    // 2. Postgres restarted (fast shutdown: sessions and in-flight COPYs are cut) mid-stream.
    await produce(40_001, 70_000, async () => { pgCtl(['restart', '-m', 'fast', '-w']); });
    // 3. Redis SIGKILLed and restarted on its port mid-stream; the AOF brings back every
    //    acknowledged RPUSH and processing-list move.
    await produce(70_001, TOTAL, async () => {
      const r = redisChild!;
      const exited = new Promise((res) => r.once('exit', res));
      r.kill('SIGKILL');
      await exited;
      await new Promise((res) => setTimeout(res, 300));
      redisChild = startRedis();
      await waitForPort(redisPort);
    });
    await waitFor(async () => (await storedCount()) >= TOTAL && true, 60_000, `${TOTAL} rows (have ${await storedCount()})`);
    await new Promise((r) => setTimeout(r, 500));
    const { rows } = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT counter)::int AS d, min(counter) AS lo, max(counter) AS hi
      FROM job_events WHERE job_id = $1`, [jobId]);
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(rows[0]).toEqual({ n: TOTAL, d: TOTAL, lo: 1, hi: TOTAL });
    expect(await producer.llen(queue)).toBe(0);
    expect(log.filter((l) => !/redis|ECONNREFUSED|terminat|shut/i.test(l))).toEqual([]);
  }, 150_000);
});
