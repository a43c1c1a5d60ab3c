import type pg from 'pg';
import { launchInventoryUpdate, launchProjectUpdate } from './launch.js';

/**
 * AWX's dependency manager, run at the start of each task manager pass for pending jobs not
 * yet processed (dependencies_processed = false):
 * - a job whose project has `scm_update_on_launch` needs a fresh project update unless the
 *   last one succeeded within `scm_update_cache_timeout` seconds (0 = always update);
 * - a job or ad hoc command whose inventory has sources with `update_on_launch` needs an
 *   update of each such source unless its last one succeeded within `update_cache_timeout`.
 * An update already pending/waiting/running is reused; jobs processed in the same pass share
 * the update they create. The links go in unified_job_dependencies; the pass then holds the
 * job until they finish and fails it if one of them fails.
 */
interface PendingRow { id: number; kind: string; project_id: number | null; inventory_id: number | null }
interface LastUpdate { id: number; status: string; finished: Date | null }

export async function createDependencies(db: pg.PoolClient, now: Date = new Date()): Promise<number> {
  const { rows: jobs } = await db.query<PendingRow>(
    `SELECT id, kind, project_id, inventory_id FROM unified_jobs
      WHERE status = 'pending' AND NOT dependencies_processed AND kind IN ('job', 'ad_hoc_command') ORDER BY id`);
  if (!jobs.length) return 0;

  const projectIds = [...new Set(jobs.filter((j) => j.kind === 'job' && j.project_id).map((j) => j.project_id!))];
  const inventoryIds = [...new Set(jobs.filter((j) => j.inventory_id).map((j) => j.inventory_id!))];
  const { rows: projects } = await db.query<{ id: number; scm_update_cache_timeout: number }>(
    `SELECT id, scm_update_cache_timeout FROM projects WHERE id = ANY($1) AND scm_update_on_launch AND scm_type <> ''`, [projectIds]);
  const { rows: sources } = await db.query<{ id: number; inventory_id: number; update_cache_timeout: number }>(
    `SELECT id, inventory_id, update_cache_timeout FROM inventory_sources WHERE inventory_id = ANY($1) AND update_on_launch`,
    [inventoryIds]);
  const lastProjectUpdate = await latestUpdates(db, 'project_update', 'project_id', projects.map((p) => p.id));
  const lastSourceUpdate = await latestUpdates(db, 'inventory_update', 'inventory_source_id', sources.map((s) => s.id));

  // Which update (existing or created in this pass) satisfies each project / source.
  const projectDep = new Map<number, number | null>();
  const sourceDep = new Map<number, number | null>();
  const pick = async (last: LastUpdate | undefined, cacheTimeout: number, create: () => Promise<number>): Promise<number | null> => {
    if (last && ['pending', 'waiting', 'running'].includes(last.status)) return last.id;
    if (last && last.status === 'successful' && cacheTimeout > 0 && last.finished
        && last.finished.getTime() + cacheTimeout * 1000 > now.getTime()) return null;
    return create();
  };

  const links: [number, number][] = [];
  for (const job of jobs) {
    const project = job.kind === 'job' ? projects.find((p) => p.id === job.project_id) : undefined;
    if (project) {
      if (!projectDep.has(project.id)) {
        projectDep.set(project.id, await pick(lastProjectUpdate.get(project.id), project.scm_update_cache_timeout,
          () => launchProjectUpdate(db, project.id, { launchType: 'dependency' })));
      }
      const dep = projectDep.get(project.id);
      if (dep) links.push([job.id, dep]);
    }
    for (const source of sources.filter((s) => s.inventory_id === job.inventory_id)) {
      if (!sourceDep.has(source.id)) {
        sourceDep.set(source.id, await pick(lastSourceUpdate.get(source.id), source.update_cache_timeout,
          () => launchInventoryUpdate(db, source.id, { launchType: 'dependency' })));
      }
      const dep = sourceDep.get(source.id);
      if (dep) links.push([job.id, dep]);
    }
  }
  if (links.length) {
    await db.query(
      `INSERT INTO unified_job_dependencies (unified_job_id, depends_on_id)
       SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING`,
      [links.map((l) => l[0]), links.map((l) => l[1])]);
  }
  await db.query(`UPDATE unified_jobs SET dependencies_processed = true WHERE id = ANY($1)`, [jobs.map((j) => j.id)]);
  return links.length;
}

async function latestUpdates(db: pg.PoolClient, kind: string, column: string, ids: number[]): Promise<Map<number, LastUpdate>> {
  if (!ids.length) return new Map();
  const { rows } = await db.query<LastUpdate & { ref: number }>(
    `SELECT DISTINCT ON (${column}) ${column} AS ref, id, status, finished FROM unified_jobs
      WHERE kind = $1 AND ${column} = ANY($2) AND launch_type <> 'sync' ORDER BY ${column}, id DESC`, [kind, ids]);
  return new Map(rows.map((r) => [r.ref, r]));
}

/** AWX's explanation on a job whose dependency failed. */
export function failedDependencyExplanation(dep: { kind: string; name: string; id: number }): string {
  return `Previous Task Failed: {"job_type": "${dep.kind}", "job_name": "${dep.name}", "job_id": "${dep.id}"}`;
}
