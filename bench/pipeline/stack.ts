import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type Config, loadConfig } from '../../src/config.js';
import { isoUtcSql } from '../../src/db/iso-timestamp.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/services/postgres.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../src/services/redis.js';

/**
 * What the pipeline benchmarks run against, in a temp dir of their own: Postgres 15 with
 * its durable defaults (fsync, synchronous_commit and full_page_writes on; max_wal_size
 * 4GB), Redis with appendonly yes, appendfsync everysec, the schema migrated, and a
 * receiver config for `workers` workers on the node `name`.
 */
export interface BenchStack {
  /** The temp dir (removed by stop()). */
  dir: string;
  pg: EmbeddedPostgres;
  redisServer: EmbeddedRedis;
  pool: Pool;
  redis: Redis;
  config: Config;
  queue: string;
  stop(): Promise<void>;
}

export async function startBenchStack(name: string, workers: number): Promise<BenchStack> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `playstream-${name}-`));
  fs.chmodSync(root, 0o755);
  const [pg, redisServer] = await Promise.all([
    startEmbeddedPostgres({ dir: path.join(root, 'pg'), autoInstall: false, settings: { max_wal_size: '4GB' } }),
    startEmbeddedRedis({ dir: path.join(root, 'redis'), autoInstall: false, appendfsync: 'everysec' }),
  ]);
  const pool = createPool(pg.url, { max: workers * 2 + 4, name });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  await migrate(pool);
  const config = loadConfig({ ...process.env, DATABASE_URL: pg.url, REDIS_URL: redisServer.url, PLAYSTREAM_REDIS_PREFIX: `${name}:`,
    PLAYSTREAM_NODE_NAME: name, PLAYSTREAM_RECEIVER_WORKERS: String(workers), PLAYSTREAM_LOG_LEVEL: 'warn' });
  return {
    dir: root, pg, redisServer, pool, redis, config, queue: redisKeys(config).callbackQueue,
    async stop() {
      redis.disconnect();
      await pool.end();
      await Promise.all([pg.stop(), redisServer.stop()]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A running job with its event partitions in place. */
export async function createBenchJob(pool: Pool): Promise<{ id: number; createdIso: string }> {
  const { rows } = await pool.query(`INSERT INTO unified_jobs (kind, name, status) VALUES ('job', 'bench', 'running')
    RETURNING id, ${isoUtcSql('created')} AS created_iso`);
  await pool.query('SELECT ensure_event_partitions($1)', [rows[0].created_iso]);
  return { id: rows[0].id, createdIso: rows[0].created_iso };
}
