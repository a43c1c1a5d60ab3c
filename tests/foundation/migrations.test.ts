import { describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { createDatabase, onCleanup } from '../support/harness.js';

describe('migrations', () => {
  it('apply each migration once, record it, and are a no-op the second time', async () => {
    const db = await createDatabase({ empty: true });
    const pool = createPool(db.url, { max: 4 });
    onCleanup(async () => { await pool.end(); await db.drop(); });

    const all = readMigrations().map((m) => m.version);
    expect(all.length).toBeGreaterThan(0);
    const first = await migrate(pool);
    expect(first).toEqual(all);
    const { rows } = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(all);
    expect(await migrate(pool)).toEqual([]);
    const tables = await pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname IN
      ('organizations','users','teams','credentials','credential_types','projects','inventories','hosts','groups',
       'inventory_sources','job_templates','unified_jobs','job_events','project_update_events','inventory_update_events',
       'ad_hoc_command_events','system_job_events','instances','instance_groups','schedules','notification_templates',
       'notifications','activity_stream')`);
    expect(tables.rows[0].n).toBe(23);
  });

  it('concurrent starters apply each migration exactly once', async () => {
    const db = await createDatabase({ empty: true });
    const pools = [createPool(db.url, { max: 1 }), createPool(db.url, { max: 1 }), createPool(db.url, { max: 1 })];
    onCleanup(async () => { await Promise.all(pools.map((p) => p.end())); await db.drop(); });
    const results = await Promise.all(pools.map((p) => migrate(p)));
    expect(results.flat().sort((a, b) => a - b)).toEqual(readMigrations().map((m) => m.version));
  });

  it('a failing migration rolls back and is not recorded', async () => {
    const db = await createDatabase({ empty: true });
    const pool = createPool(db.url, { max: 1 });
    onCleanup(async () => { await pool.end(); await db.drop(); });
    const bad = [{ version: 1, name: 'bad', sql: 'CREATE TABLE half_done (id int); SELECT no_such_function();' }];
    await expect(migrate(pool, bad)).rejects.toMatchObject({ code: 'PS_ERR_MIGRATION' });
    const { rows } = await pool.query(`SELECT to_regclass('half_done') AS t, (SELECT count(*)::int FROM schema_migrations) AS n`);
    expect(rows[0]).toEqual({ t: null, n: 0 });
  });

  it('event tables are partitioned hourly and partitions are created race-safely', async () => {
    const db = await createDatabase();
    const pool = createPool(db.url, { max: 8 });
    onCleanup(async () => { await pool.end(); await db.drop(); });
    const ts = '2026-11-22T10:17:00Z';
    await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT ensure_event_partitions($1)', [ts])));
    const { rows } = await pool.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'job_events'`);
    expect(rows.map((r) => r.relname)).toEqual(['job_events_20261122_10']);
  });
});
