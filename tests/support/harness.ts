import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { SecretBox } from '../../src/security/secrets.js';
import { withDatabase } from '../../src/services/postgres.js';
import { TEMPLATE_DB } from './names.js';

/**
 * Per-test-file isolation on the run's shared servers: a fresh database cloned from the
 * migrated template, a unique Redis key prefix, and a private data dir — all removed after
 * the file's tests (BullMQ's `test-${uuid}` queues, graphile-worker's fresh schemas).
 */
export interface TestEnv {
  id: string;
  databaseUrl: string;
  redisUrl: string;
  pool: Pool;
  redis: Redis;
  config: Config;
  secrets: SecretBox;
  dataDir: string;
  /** Environment for child processes of this test (playstream web/receiver/...). */
  env: NodeJS.ProcessEnv;
}

/**
 * Cleanups run after the file's tests, newest first. vitest 3 ignores an afterAll registered
 * inside a beforeAll (where useTestEnv is usually called) or a test, and a worker runs many
 * files with this module loaded once (isolate: false), so the one afterAll that runs them is
 * registered per file by tests/support/per-file.ts.
 */
const cleanups: (() => Promise<void> | void)[] = [];
export async function runCleanups(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    try { await fn(); } catch (err) { process.stderr.write(`test cleanup failed: ${(err as Error).message}\n`); }
  }
}

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export function adminUrl(): string {
  return inject('pgAdminUrl');
}

export function urlForDatabase(name: string): string {
  return withDatabase(adminUrl(), name);
}

/** Creates a database cloned from the template (or empty) and returns its URL. */
export async function createDatabase(options: { empty?: boolean } = {}): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${options.empty ? '' : ` TEMPLATE ${TEMPLATE_DB}`}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: urlForDatabase(name),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A full test environment for one test file; cleaned up in afterAll. */
export async function useTestEnv(overrides: NodeJS.ProcessEnv = {}): Promise<TestEnv> {
  const db = await createDatabase();
  const id = db.name;
  const redisUrl = inject('redisUrl');
  const dataDir = path.join(inject('testRoot'), id);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const secretKey = crypto.randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    PLAYSTREAM_REDIS_PREFIX: `${id}:`,
    PLAYSTREAM_DATA_DIR: dataDir,
    PLAYSTREAM_NODE_NAME: `node-${id}`,
    SECRET_KEY: secretKey,
    PLAYSTREAM_AUTO_INSTALL: 'false',
    ...overrides,
  };
  const config = loadConfig(env);
  const pool = createPool(db.url, { max: 10, name: id });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  onCleanup(async () => {
    const keys = await redis.keys(`${id}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await pool.end();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { id, databaseUrl: db.url, redisUrl, pool, redis, config, secrets: new SecretBox(secretKey), dataDir, env };
}
