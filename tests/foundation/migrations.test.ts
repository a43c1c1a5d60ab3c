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

  it('1700 drops host summaries of non-jobs and points their hosts back at their latest job', async () => {
    const db = await createDatabase({ empty: true });
    const pool = createPool(db.url, { max: 2 });
    onCleanup(async () => { await pool.end(); await db.drop(); });
    const all = readMigrations();
    await migrate(pool, all.filter((m) => m.version < 1700));
    const q = async (sql: string, args: unknown[] = []) => (await pool.query(sql, args)).rows;
    const [org] = await q(`INSERT INTO organizations (name) VALUES ('o') RETURNING id`);
    const [inv] = await q(`INSERT INTO inventories (name, organization_id) VALUES ('i', $1) RETURNING id`, [org.id]);
    const hosts = await q(`INSERT INTO hosts (name, inventory_id) VALUES ('a', $1), ('b', $1) RETURNING id`, [inv.id]);
    const job = async (kind: string) => (await q(`INSERT INTO unified_jobs (kind, name) VALUES ($1, $1) RETURNING id`, [kind]))[0].id;
    const summary = async (jobId: number, hostId: number) =>
      (await q(`INSERT INTO job_host_summaries (job_id, host_id, host_name) VALUES ($1, $2, $3) RETURNING id`, [jobId, hostId, `h${jobId}-${hostId}`]))[0].id;
    const j = await job('job'); const pu = await job('project_update'); const adhoc = await job('ad_hoc_command');
    const keep = await summary(j, hosts[0].id);
    await summary(pu, hosts[0].id); await summary(adhoc, hosts[1].id);
    await q(`UPDATE hosts SET last_job_id = $1 WHERE id = $2`, [pu, hosts[0].id]);
    await q(`UPDATE hosts SET last_job_id = $1 WHERE id = $2`, [adhoc, hosts[1].id]);
    expect(await migrate(pool)).toEqual(all.filter((m) => m.version >= 1700).map((m) => m.version));
    expect(await q(`SELECT id, job_id FROM job_host_summaries ORDER BY id`)).toEqual([{ id: keep, job_id: j }]);
    expect(await q(`SELECT id, last_job_id, last_job_host_summary_id FROM hosts ORDER BY id`)).toEqual([
      { id: hosts[0].id, last_job_id: j, last_job_host_summary_id: keep },
      { id: hosts[1].id, last_job_id: null, last_job_host_summary_id: null }]);
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
