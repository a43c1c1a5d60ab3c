import fs from 'node:fs';
import type pg from 'pg';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { failedDependencyExplanation } from './dependency-manager.js';
import { jobKinds } from '../db/job-kinds.js';
import { redisKeys } from '../redis-keys.js';
import { EventPusher } from './event-push.js';
import { Redactor } from './redact.js';
import { markRunning, saveFinalStatus, type FinalFields, type StatusBus } from './job-states.js';
import { jobDir, projectDir } from './private-data-dir.js';
import { readCheckoutRevision, withCheckoutLock } from './project-checkout.js';
import { runProjectUpdate } from './project-update.js';
import type { JobContext, JobRow } from './job-context.js';

/**
 * The project content where a job runs (AWX's sync_and_copy). Before a job — or an scm
 * inventory update — uses a project on this node, the node's checkout must hold the
 * revision the job records (`scm_revision`, taken from the project when the job starts
 * unless already set). When it does not (a fresh node, another node updated the project
 * since), the node runs a local `sync` project update at that revision, in the job's
 * worker, as AWX does: a project update row with launch_type `sync`, job_type `run`, this
 * node as its execution node, its own events, linked to the job in
 * unified_job_dependencies (the job's dependencies, as the task manager's are). A failed
 * sync fails the job with AWX's "Previous Task Failed" explanation.
 *
 * Cached per revision and shared: the whole check runs under the node's checkout lock
 * for the project (project-checkout.ts), so of two jobs of one revision on one node the
 * first syncs and the second, finding the checkout at its revision, links the same sync
 * update. Manual projects (no scm_type) are never synced: their directory is the operator's.
 *
 * The checkout is updated in place, as a project update always did here: a job still
 * running an older revision on this node sees its files change (AWX copies the checkout
 * into each job's private data dir instead).
 */
export interface ProjectRef { id: number; name: string; local_path: string; scm_type: string; scm_revision: string; organization_id: number | null }

export async function ensureProjectCheckout(ctx: JobContext, job: JobRow, project: ProjectRef): Promise<FinalFields | null> {
  if (!project.scm_type) return null;
  const node = ctx.config.nodeName;
  return withCheckoutLock(ctx.pool, node, project.id, async () => {
    const wanted: string = job.scm_revision || project.scm_revision;
    const have = readCheckoutRevision(ctx.config.dataDir, project);
    if (wanted && have === wanted && fs.existsSync(projectDir(ctx.config.dataDir, project))) {
      const { rows: [shared] } = await ctx.pool.query<{ id: number }>(
        `SELECT id FROM unified_jobs WHERE kind = 'project_update' AND launch_type = 'sync' AND project_id = $1
            AND execution_node = $2 AND scm_revision = $3 AND status = 'successful' ORDER BY id DESC LIMIT 1`,
        [project.id, node, wanted]);
      await recordRevision(ctx.pool, job, wanted, shared?.id);
      return null;
    }
    const sync = await startSync(ctx, job, project, wanted);
    const final = await runSync(ctx, sync);
    await saveFinalStatus(ctx.pool, busOf(ctx), sync.id, final, ['running']);
    if (final.status !== 'successful') {
      return { status: 'failed', jobExplanation: failedDependencyExplanation({ kind: 'project_update', name: sync.name, id: sync.id }) };
    }
    await recordRevision(ctx.pool, job, readCheckoutRevision(ctx.config.dataDir, project) || wanted, sync.id);
    // A cancel asked while the sync ran: the job stops here (its runner, not started yet, has no one to tell).
    const { rows: [now] } = await ctx.pool.query<{ cancel_flag: boolean }>('SELECT cancel_flag FROM unified_jobs WHERE id = $1', [job.id]);
    return now?.cancel_flag ? { status: 'canceled' } : null;
  });
}

function busOf(ctx: JobContext): StatusBus {
  return { redis: ctx.redis, config: ctx.config };
}

/** The job's revision (when it had none) and its link to the sync that brought it. */
async function recordRevision(pool: pg.Pool, job: JobRow, revision: string, syncId: number | undefined): Promise<void> {
  if (revision && !job.scm_revision) {
    await pool.query(`UPDATE unified_jobs SET scm_revision = $2 WHERE id = $1 AND scm_revision = ''`, [job.id, revision]);
    job.scm_revision = revision;
  }
  if (syncId) {
    await pool.query(`INSERT INTO unified_job_dependencies (unified_job_id, depends_on_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [job.id, syncId]);
  }
}

/** The sync's row, placed on this node, linked to the job, and moved to running (its status published like any job's). */
async function startSync(ctx: JobContext, job: JobRow, project: ProjectRef, revision: string): Promise<JobRow> {
  const node = ctx.config.nodeName;
  const { rows: [row] } = await ctx.pool.query<{ id: number; created: Date }>(
    `INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, project_id, launch_type, job_type, status,
        execution_node, controller_node, instance_group_id, scm_revision, dependencies_processed)
     VALUES ('project_update', $1, $2, $3, $2, 'sync', 'run', 'waiting', $4, $4, $5, $6, true) RETURNING id, created`,
    [project.name, project.id, project.organization_id, node, job.instance_group_id ?? null, revision]);
  await ctx.pool.query('SELECT ensure_event_partitions($1)', [row.created]);
  await ctx.pool.query(`INSERT INTO unified_job_dependencies (unified_job_id, depends_on_id) VALUES ($1, $2)`, [job.id, row.id]);
  await markRunning(ctx.pool, busOf(ctx), row.id, node);
  log.info('syncing the project on this node', { job: job.id, project: project.id, revision: revision || '(latest)', sync: row.id });
  return (await ctx.pool.query<JobRow>('SELECT * FROM unified_jobs WHERE id = $1', [row.id])).rows[0];
}

async function runSync(ctx: JobContext, sync: JobRow): Promise<FinalFields> {
  // The update's one pusher (run-unified-job.ts builds one per job the same way): it closes the stream (EOF) whatever happens.
  const pusher = new EventPusher(ctx.redis, redisKeys(ctx.config).callbackQueue, jobKinds.project_update.refField, sync.id, sync.created, new Redactor([]));
  let final: FinalFields;
  try {
    final = (await runProjectUpdate(ctx, sync, pusher)).final;
  } catch (err) {
    final = err instanceof PlaystreamError && err.code === 'PS_ERR_VALIDATION'
      ? { status: 'error', jobExplanation: err.message }
      : { status: 'error', resultTraceback: String((err as Error).stack ?? err) };
  } finally {
    fs.rmSync(jobDir(ctx.config.dataDir, sync.id), { recursive: true, force: true });
  }
  try {
    final.emittedEvents = await pusher.finish();
  } catch (err) {
    log.error('event push failed', { job: sync.id, err });
  }
  return final;
}
