import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { createDatabaseIfMissing, type EmbeddedPostgres, startEmbeddedPostgres, withDatabase } from '../src/services/postgres.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/services/redis.js';
import { packageRoot } from '../src/paths.js';
import { TEMPLATE_DB } from './support/names.js';

/**
 * One real Postgres and one real Redis for the whole run, on free ports, in a temporary
 * directory removed at the end. A migrated template database lets each test file clone
 * its own database in milliseconds (tests/support/harness.ts).
 */
declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    redisUrl: string;
    testRoot: string;
  }
}

let postgres: EmbeddedPostgres | undefined;
let redis: EmbeddedRedis | undefined;
let root: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Tests that spawn `bin/playstream.js` must run the code under test, not a stale bundle.
  execFileSync(process.execPath, [path.join(packageRoot, 'scripts/build.mjs')], { stdio: 'inherit' });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-test-'));
  fs.chmodSync(root, 0o755);
  [postgres, redis] = await Promise.all([
    startEmbeddedPostgres({
      dir: path.join(root, 'postgres'), autoInstall: true, database: 'postgres',
      // Durability is not under test here (the fault tests run their own servers): trade it for speed.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    }),
    startEmbeddedRedis({ dir: path.join(root, 'redis'), autoInstall: true, appendfsync: 'no', persistence: false }),
  ]);
  const adminUrl = postgres.url;
  await createDatabaseIfMissing(adminUrl, TEMPLATE_DB);
  const pool = createPool(withDatabase(adminUrl, TEMPLATE_DB), { max: 1 });
  await migrate(pool);
  await pool.end();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('redisUrl', redis.url);
  project.provide('testRoot', root);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
  await postgres?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
}
