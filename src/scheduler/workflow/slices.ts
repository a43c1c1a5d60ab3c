import type pg from 'pg';
import { atomically } from '../../db/pool.js';
import type { LaunchOptions } from '../launch.js';
import { submitUnifiedJob } from '../submit.js';
import { parseVars } from '../vars.js';

/**
 * Job slicing (AWX's JobTemplate.create_unified_job with job_slice_count > 1): the launch
 * becomes a workflow job (is_sliced_job) with one root node per slice, each naming the job
 * template and carrying `{"job_slice": n}` as its ancestor artifacts. The workflow pass
 * (spawn.ts) gives each node a job of slice n of N with the launch's prompts, and the job
 * runs on its share of the hosts (private-data-dir.ts buildInventory). The workflow's
 * status rolls the slices up like any workflow's: failed when a slice failed.
 */
type Queryable = Pick<pg.Pool, 'query'>;

/** AWX's get_effective_slice_ct: the template's count, at most the inventory's enabled hosts. */
export async function effectiveSliceCount(db: Queryable, jt: Record<string, any>, inventoryId: number | null): Promise<number> {
  if (!inventoryId) return 1;
  const { rows: [c] } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM hosts WHERE inventory_id = $1 AND enabled', [inventoryId]);
  return Math.max(1, Math.min(jt.job_slice_count, c.n));
}

/** The sliced job (a workflow job) and its slice nodes, atomically (pool.ts): the task manager never sees it without them. */
export function launchSlicedJob(db: Queryable, jt: Record<string, any>, slices: number, opts: LaunchOptions): Promise<number> {
  return atomically(db, (tx) => insertSlicedJob(tx, jt, slices, opts));
}

async function insertSlicedJob(db: Queryable, jt: Record<string, any>, slices: number, opts: LaunchOptions): Promise<number> {
  const o = opts.overrides ?? {};
  const prompted = parseVars(o.extra_vars);
  const id = await submitUnifiedJob(db, {
    kind: 'workflow_job', name: jt.name, description: jt.description, unified_job_template_id: jt.id, organization_id: jt.organization_id,
    launch_type: opts.launchType ?? 'manual', created_by_id: opts.userId ?? null, schedule_id: opts.scheduleId ?? null,
    inventory_id: o.inventory_id ?? jt.inventory_id, extra_vars: Object.keys(prompted).length ? JSON.stringify(prompted) : '',
    allow_simultaneous: jt.allow_simultaneous, is_sliced_job: true, job_slice_count: slices, launch_prompts: JSON.stringify(o),
    stream_complete: true, dependencies_processed: true,
  });
  await db.query(
    `INSERT INTO workflow_job_nodes (workflow_job_id, unified_job_template_id, identifier, ancestor_artifacts)
     SELECT $1, $2, 'slice-' || n, jsonb_build_object('job_slice', n) FROM generate_series(1, $3::int) n`, [id, jt.id, slices]);
  return id;
}
