import { Redis } from 'ioredis';
import { type Config, loadConfig } from './config.js';
import { createPool, type Pool } from './db/pool.js';
import { PlaystreamError } from './errors.js';
import { log, setLogLevel, setProcessName } from './log.js';
import { resolveSecretKey, SecretBox } from './security/secrets.js';
import { backoffMs, FAST } from './backoff.js';

/**
 * What each long-running process (web, receiver, dispatcher) sets up the same way: config,
 * a Postgres pool, a Redis client, the secret box, and a shutdown path that runs once on
 * SIGINT, SIGTERM, or the supervisor going away (its IPC channel closing).
 */
export interface Runtime {
  config: Config;
  pool: Pool;
  redis: Redis;
  secrets: SecretBox;
  /** Registers cleanup run at shutdown, last registered first. */
  onShutdown(fn: () => Promise<void> | void): void;
}

export function createRedis(url: string, name: string): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    // Reconnect with backoff and jitter, capped at 2 s, forever: a Redis restart is waited out.
    retryStrategy: (times) => backoffMs(times, FAST),
  });
  redis.on('error', (err) => log.warn('redis connection error', { name, err }));
  return redis;
}

export async function createRuntime(processName: string, options: { poolSize?: number } = {}): Promise<Runtime> {
  setProcessName(processName);
  const config = loadConfig();
  setLogLevel(config.logLevel);
  if (!config.databaseUrl || !config.redisUrl) {
    throw new PlaystreamError('PS_ERR_CONFIG',
      `${processName} needs DATABASE_URL and REDIS_URL (\`playstream start\` sets both when it runs the embedded services)`);
  }
  const pool = createPool(config.databaseUrl, { max: options.poolSize ?? 10, name: processName });
  const redis = createRedis(config.redisUrl, processName);
  const secrets = new SecretBox(resolveSecretKey(config.secretKey, config.dataDir));
  const cleanups: (() => Promise<void> | void)[] = [];
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { reason });
    for (const fn of cleanups.reverse()) {
      try { await fn(); } catch (err) { log.warn('cleanup failed', { err }); }
    }
    redis.disconnect();
    await pool.end().catch(() => {});
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('disconnect', () => void shutdown('supervisor gone'));
  return { config, pool, redis, secrets, onShutdown: (fn) => cleanups.push(fn) };
}

/** Tells the supervisor (if any) that this process is up. */
export function reportReady(details: Record<string, unknown> = {}): void {
  process.send?.({ type: 'ready', ...details });
}
