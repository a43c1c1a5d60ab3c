import type pg from 'pg';

/**
 * The API scale data set of issue #13, generated in SQL from generate_series alone (no
 * random(): the same sizes give the same rows, so runs compare). Two organizations, each
 * with an inventory and a project; `templates` job templates alternating between them;
 * `jobs` unified jobs (every 10th a project update) over those templates, with statuses
 * 85% successful / 5% failed / 5% error / 5% canceled and the newest 20 running, launched
 * by one of 5 users or by a schedule (every 7th); `hosts` hosts; and one finished job with
 * `events` job events (counters 1..N, one ~100-byte line each), as the receiver leaves a
 * job whose stream completed.
 *
 * Users: `scale-admin` (superuser) and `scale-user`, who reads 10 templates of the first
 * organization and launched every 5th job: the RBAC-filtered lists of the benchmark.
 */
export interface ScaleSizes { jobs: number; templates: number; hosts: number; events: number }

/** `firstJobId`: the id of seeded job 0; seeded job i has id firstJobId + i. */
export interface ScaleSet { orgIds: number[]; inventoryIds: number[]; templateIds: number[]; adminId: number; userId: number; bigJobId: number; launcherIds: number[]; firstJobId: number }

export async function seedApiScale(pool: pg.Pool, s: ScaleSizes, passwordHash: string): Promise<ScaleSet> {
  const q = async (sql: string, values: unknown[] = []) => (await pool.query(sql, values)).rows;
  const orgIds = (await q(`INSERT INTO organizations (name) VALUES ('Scale Org A'), ('Scale Org B') RETURNING id`)).map((r) => Number(r.id));
  const invIds = (await q(`INSERT INTO inventories (name, organization_id) VALUES ('Scale Inv A', $1), ('Scale Inv B', $2) RETURNING id`, orgIds)).map((r) => Number(r.id));
  const projIds = (await q(`INSERT INTO projects (name, organization_id) VALUES ('Scale Project A', $1), ('Scale Project B', $2) RETURNING id`, orgIds)).map((r) => Number(r.id));
  const users = await q(
    `INSERT INTO users (username, password, is_superuser)
     SELECT u, $1, u = 'scale-admin' FROM unnest(ARRAY['scale-admin', 'scale-user', 'scale-l2', 'scale-l3', 'scale-l4']) u RETURNING id, username`, [passwordHash]);
  const adminId = Number(users.find((u) => u.username === 'scale-admin').id);
  const userId = Number(users.find((u) => u.username === 'scale-user').id);
  const launcherIds = users.map((u) => Number(u.id));
  const templateIds = (await q(
    `INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook)
     SELECT format('Scale Template %s', lpad(i::text, 4, '0')), ($1::bigint[])[1 + i % 2], ($2::bigint[])[1 + i % 2], ($3::bigint[])[1 + i % 2], 'site.yml'
       FROM generate_series(0, $4 - 1) i ORDER BY i RETURNING id`, [orgIds, invIds, projIds, s.templates])).map((r) => Number(r.id));
  for (const t of templateIds.filter((_, i) => i % 2 === 0).slice(0, 10)) {
    await q(`WITH r AS (INSERT INTO rbac_roles (resource_type, resource_id, role_field) VALUES ('job_template', $1, 'read_role')
                        ON CONFLICT (resource_type, resource_id, role_field) DO UPDATE SET role_field = EXCLUDED.role_field RETURNING id)
             INSERT INTO rbac_role_users (role_id, user_id) SELECT id, $2 FROM r ON CONFLICT DO NOTHING`, [t, userId]);
  }
  const [{ before }] = await q('SELECT coalesce(max(id), 0) AS before FROM unified_jobs');
  await q(
    `INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, inventory_id, project_id, playbook, status, failed,
                               created, modified, started, finished, elapsed, launch_type, created_by_id, job_type,
                               event_processing_finished, emitted_events)
     SELECT CASE WHEN i % 10 = 0 THEN 'project_update' ELSE 'job' END,
            CASE WHEN i % 10 = 0 THEN format('Scale Project %s', CASE WHEN i % 2 = 0 THEN 'A' ELSE 'B' END)
                 ELSE format('Scale Template %s', lpad((i % $5)::text, 4, '0')) END,
            CASE WHEN i % 10 = 0 THEN ($3::bigint[])[1 + i % 2] ELSE ($4::bigint[])[1 + i % $5] END,
            ($1::bigint[])[1 + i % 2], ($2::bigint[])[1 + i % 2], ($3::bigint[])[1 + i % 2], 'site.yml',
            st, st IN ('failed', 'error'),
            ts, ts, ts, CASE WHEN st = 'running' THEN NULL ELSE ts + (i % 300) * interval '1 second' END,
            CASE WHEN st = 'running' THEN 0 ELSE i % 300 END,
            CASE WHEN i % 7 = 0 THEN 'scheduled' ELSE 'manual' END,
            CASE WHEN i % 7 = 0 THEN NULL ELSE ($6::bigint[])[1 + i % 5] END,
            CASE WHEN i % 10 = 0 THEN 'check' ELSE 'run' END, st <> 'running', 10
       FROM (SELECT i, timestamptz '2026-01-01 00:00:00+00' + i * interval '2 seconds' AS ts,
                    CASE WHEN i >= $7 - 20 THEN 'running' WHEN i % 20 = 1 THEN 'failed' WHEN i % 20 = 2 THEN 'error'
                         WHEN i % 20 = 3 THEN 'canceled' ELSE 'successful' END AS st
               FROM generate_series(0, $7 - 1) i) g
      ORDER BY i`, [orgIds, invIds, projIds, templateIds, s.templates, launcherIds, s.jobs]);
  const [{ first }] = await q('SELECT min(id) AS first FROM unified_jobs WHERE id > $1', [before]);
  await q(
    `INSERT INTO hosts (name, inventory_id)
     SELECT format('host-%s.example.com', lpad(i::text, 5, '0')), ($1::bigint[])[1 + i % 2] FROM generate_series(0, $2 - 1) i`, [invIds, s.hosts]);
  const [big] = await q(
    `INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, inventory_id, project_id, playbook, status,
                               created, started, finished, created_by_id, emitted_events, event_processing_finished)
     VALUES ('job', 'Scale Big Job', $1, $2, $3, $4, 'site.yml', 'successful', date_trunc('second', now()) - interval '2 hours', now(), now(), $5, $6, true)
     RETURNING id, created`, [templateIds[0], orgIds[0], invIds[0], projIds[0], adminId, s.events]);
  await q('SELECT ensure_event_partitions($1)', [big.created]);
  await q(
    `INSERT INTO job_events (created, modified, job_created, job_id, event, event_data, failed, changed, uuid, parent_uuid,
                             counter, stdout, start_line, end_line, host_name, playbook, play, task)
     SELECT $2::timestamptz + c * interval '1 millisecond', $2, $2, $1,
            CASE WHEN c = 1 THEN 'playbook_on_start' WHEN c = $3 THEN 'playbook_on_stats' WHEN c % 50 = 2 THEN 'playbook_on_task_start'
                 WHEN c % 97 = 0 THEN 'runner_on_failed' ELSE 'runner_on_ok' END,
            '{}', c % 97 = 0, c % 5 = 0, md5(c::text), '', c,
            format('ok: [host-%s.example.com] => {"msg": "task %s item %s", "changed": %s}', lpad((c % 10000)::text, 5, '0'), c / 50, c,
                   CASE WHEN c % 5 = 0 THEN 'true' ELSE 'false' END) || E'\\n',
            c - 1, c, format('host-%s.example.com', lpad((c % 10000)::text, 5, '0')), 'site.yml', 'all', format('task %s', c / 50)
       FROM generate_series(1, $3) c`, [big.id, big.created, s.events]);
  await q('SELECT fold_unified_job_counts()');
  return { orgIds, inventoryIds: invIds, templateIds, adminId, userId, bigJobId: Number(big.id), launcherIds, firstJobId: Number(first) };
}
