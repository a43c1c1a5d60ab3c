import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { migrationsDir } from '../paths.js';
import { syncManagedCredentialTypes } from './managed-credential-types.js';

/**
 * Applies numbered SQL migrations (`NNNN_name.sql`) in order, each in its own transaction,
 * recording each in `schema_migrations`. A cluster-wide advisory lock makes concurrent
 * starters (several nodes, or supervisor and a test) apply each migration exactly once.
 * After them, under the same lock, the managed credential types are brought up to their
 * definitions (managed-credential-types.ts), as AWX does at start-up.
 */
const MIGRATION_LOCK = 7_201_001;

export interface Migration { version: number; name: string; sql: string }

export function readMigrations(dir = migrationsDir): Migration[] {
  return fs.readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

/** Returns the versions it applied (empty when the schema was current). */
export async function migrate(pool: pg.Pool, migrations = readMigrations()): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new PlaystreamError('PS_ERR_MIGRATION', `migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.version);
      log.info('applied migration', { version: m.version, name: m.name });
    }
    const { rows: [types] } = await client.query(`SELECT to_regclass('credential_types') IS NOT NULL AS present`);
    if (types.present) await syncManagedCredentialTypes(client);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return applied;
}
