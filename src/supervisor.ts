import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type Config, loadConfig, redactUrl } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { seedFirstStart } from './db/seed.js';
import { watchHealth } from './health.js';
import { log, setLogLevel, setProcessName } from './log.js';
import { runningCliEntry } from './paths.js';
import roleNodeFlags from './role-node-flags.json' with { type: 'json' };
import { resolveSecretKey } from './security/secrets.js';
import { stopChild } from './services/child-process.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './services/postgres.js';
import { type EmbeddedRedis, startEmbeddedRedis } from './services/redis.js';
import { binaries, executionBinaries, installMissing, projectSourceBinaries } from './services/system-packages.js';

/**
 * `playstream start`: runs the embedded services where no URL is configured, installs the
 * programs jobs run (where it may: root on Debian, auto-install on), applies migrations,
 * seeds the first start, then supervises `web`, `receiver` and `dispatcher` as separate
 * processes — an execution node (PLAYSTREAM_NODE_TYPE=execution) only its `dispatcher`
 * (rolesOf; docs/cluster.md). Programs it could not install do not stop it: the dispatcher says which are
 * missing and registers the node with capacity 0 (dispatcher-main.ts). The children get
 * PLAYSTREAM_AUTO_INSTALL=false: installing is done here, once, and two apt-gets at a time
 * would only contend for dpkg's lock.
 *
 * States: starting → running → stopping → stopped.
 * - running: a child that exits is restarted after a backoff (1 s doubling to 30 s; reset
 *   once it has stayed up for 60 s), so a crash loop cannot spin the CPU. A ready child
 *   that stops answering health pings (a blocked event loop keeps its pid) is SIGKILLed
 *   and restarted the same way (health.ts).
 * - stopping (SIGINT/SIGTERM): children get SIGTERM and 10 s, then SIGKILL; then Redis and
 *   Postgres are stopped; then we exit. Children are forked with an IPC channel and exit
 *   when it closes, so even a SIGKILLed supervisor leaves no node process behind; an
 *   embedded server left by one is stopped at the next start (its pid file).
 */
export const ROLES = ['web', 'receiver', 'dispatcher'] as const;
export type Role = (typeof ROLES)[number];

interface Supervised {
  role: Role;
  child?: ChildProcess;
  startedAt: number;
  backoffMs: number;
  restartTimer?: NodeJS.Timeout;
}

export async function runSupervisor(): Promise<void> {
  setProcessName('supervisor');
  const config = loadConfig();
  setLogLevel(config.logLevel);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o755 });
  const secretKey = resolveSecretKey(config.secretKey, config.dataDir);

  let state: 'starting' | 'running' | 'stopping' = 'starting';
  let postgres: EmbeddedPostgres | undefined;
  let redis: EmbeddedRedis | undefined;
  const children = new Map<Role, Supervised>();

  const stopAll = async (reason: string, code: number) => {
    if (state === 'stopping') return;
    state = 'stopping';
    log.info('stopping', { reason });
    await Promise.all([...children.values()].map(async (s) => {
      clearTimeout(s.restartTimer);
      if (s.child) await stopChild(s.child, 'SIGTERM', 10_000);
    }));
    await redis?.stop();
    await postgres?.stop();
    log.info('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll('SIGINT', 0));
  process.on('SIGTERM', () => void stopAll('SIGTERM', 0));

  try {
    // One apt-get for all a fresh machine lacks; each service still checks its own below.
    installMissing([
      ...(config.databaseUrl ? [] : [binaries.postgres, binaries.initdb]),
      ...(config.redisUrl ? [] : [binaries.redisServer]),
      ...(config.nodeType === 'control' ? [] : [...Object.values(executionBinaries), ...Object.values(projectSourceBinaries)]),
    ], { autoInstall: config.autoInstall });
    if (!config.databaseUrl) {
      postgres = await startEmbeddedPostgres({ dir: path.join(config.dataDir, 'postgres'), autoInstall: config.autoInstall, ownProcessGroup: true });
      log.info('embedded Postgres running', { port: postgres.port, pid: postgres.pid });
    }
    if (!config.redisUrl) {
      redis = await startEmbeddedRedis({ dir: path.join(config.dataDir, 'redis'), autoInstall: config.autoInstall, ownProcessGroup: true, appendfsync: config.redisFsync });
      log.info('embedded Redis running', { port: redis.port, pid: redis.pid });
    }
    const databaseUrl = config.databaseUrl ?? postgres!.url;
    const redisUrl = config.redisUrl ?? redis!.url;
    for (const service of [postgres, redis]) {
      service?.child.once('exit', (code) => {
        if (state !== 'stopping') void stopAll(`embedded service pid ${service.pid} exited with code ${code}`, 1);
      });
    }

    const pool = createPool(databaseUrl, { max: 2, name: 'supervisor' });
    await migrate(pool);
    const seeded = await seedFirstStart(pool, { dataDir: config.dataDir, adminPassword: config.adminPassword });
    await pool.end();

    const env = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, SECRET_KEY: secretKey, PLAYSTREAM_AUTO_INSTALL: 'false' };
    const ready = rolesOf(config.nodeType).map((role) => {
      const s: Supervised = { role, startedAt: 0, backoffMs: 1000 };
      children.set(role, s);
      return spawnRole(s, env, () => state, stopAll);
    });
    const started = await Promise.all(ready);
    const webReady = started[[...children.keys()].indexOf('web')];
    const dispatcherReady = started[[...children.keys()].indexOf('dispatcher')];
    state = 'running';
    printWelcome(config, webReady ? webReady.port ?? config.port : null, seeded.generatedPassword, seeded.created, databaseUrl, redisUrl,
      dispatcherReady.errors);
  } catch (err) {
    log.error('start-up failed', { err: (err as Error).message });
    await stopAll('start-up failed', 1);
  }
}

/**
 * The processes a node of each type runs (AWX's node_type): an execution node runs jobs only
 * (its dispatcher; its events go to the shared Redis intake, drained by the receivers of the
 * control and hybrid nodes); a control node runs all three, its dispatcher running no jobs.
 */
export function rolesOf(nodeType: Config['nodeType']): Role[] {
  return nodeType === 'execution' ? ['dispatcher'] : [...ROLES];
}

function spawnRole(
  s: Supervised,
  env: NodeJS.ProcessEnv,
  getState: () => string,
  stopAll: (reason: string, code: number) => Promise<void>,
): Promise<ReadyMessage> {
  return new Promise((resolve) => {
    const execArgv = [...process.execArgv, ...roleNodeFlags[s.role]];
    const child = fork(runningCliEntry(), [s.role], { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    s.child = child;
    s.startedAt = Date.now();
    let stopWatching: (() => void) | undefined;
    child.on('message', (msg: ReadyMessage) => {
      if (msg?.type !== 'ready' || stopWatching) return;
      resolve(msg);
      stopWatching = watchHealth(child, (silentMs) => {
        log.warn('process not answering health pings; killing it', { role: s.role, pid: child.pid, silent_ms: silentMs });
        child.kill('SIGKILL');
      });
    });
    child.once('exit', (code, signal) => {
      stopWatching?.();
      s.child = undefined;
      if (getState() === 'stopping') return;
      const upMs = Date.now() - s.startedAt;
      if (upMs > 60_000) s.backoffMs = 1000;
      log.warn('process exited; restarting', { role: s.role, code, signal, in_ms: s.backoffMs });
      if (getState() === 'starting' && s.backoffMs >= 8000) {
        void stopAll(`${s.role} failed to start four times`, 1);
        return;
      }
      s.restartTimer = setTimeout(() => {
        void spawnRole(s, env, getState, stopAll).then(resolve);
      }, s.backoffMs);
      s.backoffMs = Math.min(s.backoffMs * 2, 30_000);
    });
  });
}

interface ReadyMessage { type: 'ready'; port?: number; errors?: string }

function printWelcome(config: Config, port: number | null, generatedPassword: string | undefined, firstStart: boolean,
  databaseUrl: string, redisUrl: string, jobErrors: string | undefined): void {
  const host = config.host === '0.0.0.0' ? 'localhost' : config.host;
  const login = generatedPassword
    ? `admin / ${generatedPassword}   (generated on first start and shown only now: keep it)`
    : firstStart ? 'admin / the password in PLAYSTREAM_ADMIN_PASSWORD'
      : 'admin / the password set on first start';
  const lines = [
    '',
    `  Playstream is running${config.nodeType === 'hybrid' ? '' : ` as a ${config.nodeType} node`} (${config.nodeName}).`,
    ...(port === null ? [`  Web:       none on an execution node; use a control or hybrid node's`] : [
      `  Console:   http://${host}:${port}/`,
      `  API:       http://${host}:${port}/api/v2/`,
      `  Login:     ${login}`]),
    `  Postgres:  ${redactUrl(databaseUrl)}`,
    `  Redis:     ${redactUrl(redisUrl)}`,
    `  Data dir:  ${config.dataDir}`,
    ...(jobErrors ? [`  Jobs:      stay pending: this node ${jobErrors}`] : []),
    `  Stop with Ctrl-C.`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

