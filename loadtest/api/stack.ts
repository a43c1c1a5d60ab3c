import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * `playstream start` as a user runs it (embedded Postgres and Redis; web, receiver and
 * dispatcher processes) on a data dir the load test owns, and what the load test reads of
 * it: the embedded services' URLs and the pids of its role processes.
 */
export interface Stack {
  child: ChildProcess;
  port: number;
  redisUrl: string;
  databaseUrl: string;
  /** A process `playstream start` runs: a role's, or the embedded services' (Postgres's postmaster, redis-server). */
  pidOf(role: 'web' | 'receiver' | 'dispatcher' | 'postgres' | 'redis-server'): number | undefined;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startStack(root: string, dataDir: string, password: string, extraEnv: NodeJS.ProcessEnv): Promise<Stack> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, PLAYSTREAM_DATA_DIR: dataDir, PORT: String(port), PLAYSTREAM_ADMIN_PASSWORD: password };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.PLAYSTREAM_REDIS_PREFIX;
  const child = spawn(process.execPath, [path.join(root, 'bin/playstream.js'), 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (d: string) => { out += d; };
  child.stdout!.setEncoding('utf8').on('data', collect);
  child.stderr!.setEncoding('utf8').on('data', collect);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`playstream start did not come up:\n${out}`)), 180_000);
    const check = () => { if (out.includes('Playstream is running')) { clearTimeout(timer); resolve(); } };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`playstream start exited ${code}:\n${out}`)); });
  });
  const redisPort = /embedded Redis running port=(\d+)/.exec(out)?.[1];
  const pgPort = /postgres:\/\/playstream:\*\*\*@127\.0\.0\.1:(\d+)\//.exec(out)?.[1];
  if (!redisPort || !pgPort) throw new Error(`cannot find the embedded services in:\n${out}`);
  const redisPassword = fs.readFileSync(path.join(dataDir, 'redis', 'password'), 'utf8').trim();
  const pgPassword = fs.readFileSync(path.join(dataDir, 'postgres', 'password'), 'utf8').trim();
  return {
    child,
    port,
    redisUrl: `redis://:${redisPassword}@127.0.0.1:${redisPort}/0`,
    databaseUrl: `postgres://playstream:${encodeURIComponent(pgPassword)}@127.0.0.1:${pgPort}/playstream`,
    pidOf: (role) => childPid(child.pid!, role),
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

/** The pid of the supervisor's child running `role` (`playstream start` forks web, receiver, dispatcher) or the program `role`. */
function childPid(parent: number, role: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (ppid === parent && (args.includes(role) || path.basename(args[0]).split(' ')[0] === role)) return Number(entry);
    } catch { /* exited meanwhile */ }
  }
  return undefined;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN;
}
