import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { stopChild, stopStaleProcess } from './child-process.js';
import { freePort } from './free-port.js';
import { binaries, ensureBinaries } from './system-packages.js';

/**
 * An embedded Postgres: initdb into `<dir>` on first use, then a postmaster on a free
 * loopback port, password-protected, owned by this process and stopped with it.
 *
 * Postgres refuses to run as root, so when we are root the cluster belongs to the
 * `postgres` system user (Debian's postgresql package creates it) and we spawn the server
 * with its uid/gid; the directory's parents must be traversable by that user.
 */
export interface EmbeddedPostgresOptions {
  dir: string;
  autoInstall: boolean;
  /** Out of the caller's process group, so a terminal's Ctrl-C reaches only the supervisor, which stops it last. */
  ownProcessGroup?: boolean;
  database?: string;
  /** Extra `-c name=value` server settings (tests turn fsync off). */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

const USER = 'playstream';

function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    execFileSync('useradd', ['--system', '--home-dir', '/var/lib/postgresql', '--shell', '/bin/false', 'postgres']);
    return postgresOwner();
  }
}

function makeTraversable(dir: string): void {
  // The postgres user must reach the cluster directory: every ancestor needs o+x.
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(d, mode | 0o001);
  }
}

/**
 * Memory for the embedded server, from the machine's: shared_buffers an eighth of it (128 MB
 * to 2 GB; Postgres's own default, 128 MB, leaves a million-job table and its indexes in the
 * OS cache, copied in on every read), effective_cache_size half. `settings` can override both.
 */
function memorySettings(): string[] {
  // A container's limit, where there is one, not the host's memory.
  const limit = process.constrainedMemory?.() || Infinity;
  const mb = Math.floor(Math.min(os.totalmem(), limit) / 2 ** 20);
  return ['-c', `shared_buffers=${Math.min(2048, Math.max(128, Math.floor(mb / 8)))}MB`, '-c', `effective_cache_size=${Math.floor(mb / 2)}MB`];
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const bins = ensureBinaries({ postgres: binaries.postgres, initdb: binaries.initdb }, options);
  const owner = postgresOwner();
  const clusterDir = path.join(options.dir, 'cluster');
  const passwordFile = path.join(options.dir, 'password');
  const logFile = path.join(options.dir, 'postgres.log');
  fs.mkdirSync(options.dir, { recursive: true, mode: 0o755 });
  if (owner) makeTraversable(clusterDir);

  if (!fs.existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    fs.rmSync(clusterDir, { recursive: true, force: true });
    fs.mkdirSync(clusterDir, { mode: 0o700 });
    const password = crypto.randomBytes(24).toString('base64url');
    fs.writeFileSync(passwordFile, password, { mode: 0o600 });
    const pwfile = path.join(clusterDir, '..', `.initdb-pw-${process.pid}`);
    fs.writeFileSync(pwfile, password, { mode: 0o600 });
    if (owner) {
      fs.chownSync(clusterDir, owner.uid, owner.gid);
      fs.chownSync(pwfile, owner.uid, owner.gid);
    }
    try {
      execFileSync(bins.initdb, ['-D', clusterDir, '-U', USER, '--pwfile', pwfile, '--auth', 'scram-sha-256',
        '-E', 'UTF8', '--locale', 'C.UTF-8', '--no-instructions'],
      { stdio: ['ignore', 'ignore', 'pipe'], uid: owner?.uid, gid: owner?.gid });
    } catch (err) {
      fs.rmSync(clusterDir, { recursive: true, force: true });
      throw new PlaystreamError('PS_ERR_SERVICE_START', `initdb failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }
  const password = fs.readFileSync(passwordFile, 'utf8').trim();

  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid > 0 && await stopStaleProcess(pid, /^postgres/, 'SIGINT')) {
      log.warn('stopped a Postgres left running by an earlier run', { pid });
    }
  }

  const port = await freePort();
  const args = ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${clusterDir}`, '-c', 'max_connections=200', ...memorySettings()];
  for (const [k, v] of Object.entries(options.settings ?? {})) args.push('-c', `${k}=${v}`);
  const out = fs.openSync(logFile, 'a');
  if (owner) fs.chownSync(logFile, owner.uid, owner.gid);
  const child = spawn(bins.postgres, args, { stdio: ['ignore', out, out], uid: owner?.uid, gid: owner?.gid, detached: options.ownProcessGroup });
  fs.closeSync(out);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(
    new PlaystreamError('PS_ERR_SERVICE_START', `postgres exited with code ${code} during start-up; see ${logFile}`))));
  exited.catch(() => {});

  const database = options.database ?? 'playstream';
  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  await Promise.race([waitUntilReady(`${base}/postgres`), exited]);
  await createDatabaseIfMissing(`${base}/postgres`, database);

  return {
    // Clients on this host connect over the Unix socket in the cluster dir (the `host`
    // parameter, honoured by node-postgres and libpq alike): the receiver's drain probe
    // spent ~10% less CPU per event than over loopback TCP (docs/benchmarks.md). TCP on
    // 127.0.0.1 stays open for tools that take only host and port.
    url: `${base}/${database}?host=${encodeURIComponent(clusterDir)}`,
    port,
    pid: child.pid!,
    child,
    // SIGINT is Postgres' "fast" shutdown: roll back sessions, checkpoint, exit.
    stop: () => stopChild(child, 'SIGINT', 30_000),
  };
}

async function waitUntilReady(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new PlaystreamError('PS_ERR_SERVICE_START', `Postgres not ready: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** `url` with its database replaced by `database` (the rest, query included, kept). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export async function createDatabaseIfMissing(adminUrl: string, database: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) {
      const tpl = template ? ` TEMPLATE ${pg.escapeIdentifier(template)}` : '';
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}${tpl}`);
    }
  } finally {
    await client.end();
  }
}
