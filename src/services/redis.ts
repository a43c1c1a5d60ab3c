import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { stopChild, stopStaleProcess } from './child-process.js';
import { freePort, waitForPort } from './free-port.js';
import { binaries, ensureBinaries } from './system-packages.js';

/**
 * An embedded redis-server on a free loopback port with a generated password.
 *
 * Durability: the append-only file is on (`appendonly yes`), so an RPUSH that Redis has
 * acknowledged survives a Redis restart; `appendfsync everysec` (the default here) can lose
 * up to one second of writes on a power cut or kernel crash, `always` loses none at the
 * cost of an fsync per write. RDB snapshots are off: the AOF is the only persistence.
 */
export interface EmbeddedRedisOptions {
  dir: string;
  autoInstall: boolean;
  /** Out of the caller's process group, so a terminal's Ctrl-C reaches only the supervisor, which stops it last. */
  ownProcessGroup?: boolean;
  appendfsync: 'always' | 'everysec' | 'no';
  /** Tests turn persistence off entirely. */
  persistence?: boolean;
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const bins = ensureBinaries({ redis: binaries.redisServer }, options);
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(options.dir, 'password');
  if (!fs.existsSync(passwordFile)) {
    fs.writeFileSync(passwordFile, crypto.randomBytes(24).toString('hex'), { mode: 0o600 });
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  const pidFile = path.join(options.dir, 'redis.pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (pid > 0 && await stopStaleProcess(pid, /^redis-server/, 'SIGTERM')) {
      log.warn('stopped a redis-server left running by an earlier run', { pid });
    }
  }

  const port = await freePort();
  const persistence = options.persistence ?? true;
  // Config goes on stdin so the password never shows in `ps`.
  const conf = [
    `port ${port}`, 'bind 127.0.0.1', 'protected-mode yes', `dir ${options.dir}`,
    `pidfile ${pidFile}`, 'daemonize no', `requirepass ${password}`, 'save ""',
    `appendonly ${persistence ? 'yes' : 'no'}`, `appendfsync ${options.appendfsync}`,
    // The AOF is rewritten (the whole dataset written out again by a forked child) whenever it
    // doubles past this size; the default, 64 MB, is 64,000 events of ~1 KB. While the
    // receiver catches up, the dataset is that backlog, so each rewrite wrote it all again:
    // pushing 600,000 events into a draining queue cost Redis 14.6 µs of CPU per event with
    // 64 MB, 11.2 with 256 MB, 7.0 with 1 GB (no rewrite). The AOF may so reach ~2 GB on disk
    // before it is compacted.
    'auto-aof-rewrite-min-size 1gb',
    `logfile ${path.join(options.dir, 'redis.log')}`,
  ].join('\n');
  const child = spawn(bins.redis, ['-'], { stdio: ['pipe', 'ignore', 'inherit'], detached: options.ownProcessGroup });
  child.stdin!.end(conf + '\n');
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(
    new PlaystreamError('PS_ERR_SERVICE_START', `redis-server exited with code ${code} during start-up; see ${options.dir}/redis.log`))));
  exited.catch(() => {});
  await Promise.race([waitForPort(port), exited]);
  return {
    url: `redis://:${password}@127.0.0.1:${port}/0`,
    port,
    pid: child.pid!,
    child,
    stop: () => stopChild(child, 'SIGTERM', 30_000),
  };
}
