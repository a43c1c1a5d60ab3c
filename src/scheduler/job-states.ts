import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../config.js';
import { withTransaction } from '../db/pool.js';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { publishBroadcast, statusChangedMessage } from '../pipeline/broadcast.js';
import { redisKeys } from '../redis-keys.js';
import { finalStatusSaved } from './rendezvous-call.js';

/** The task manager's wake-up (submit.ts, and a workflow node's job reaching its end): a hint, the database is the contract. */
export const TASK_MANAGER_CHANNEL = 'playstream_task_manager';

export async function wakeTaskManager(db: Pick<pg.Pool, 'query'>): Promise<void> {
  await db.query(`SELECT pg_notify('${TASK_MANAGER_CHANNEL}', '')`);
}

/**
 * The unified job state machine (AWX's statuses), the only place a status is written
 * outside submit.ts (which inserts `pending` and cancels not-yet-running jobs).
 *
 *   new ──► pending ──► waiting ──► running ──► successful | failed | error | canceled
 *              │           │                         ▲
 *              └───────────┴─────────────────────────┘  (canceled, failed dependency, reaped)
 *
 * - pending → waiting: the task manager, under its advisory lock, placed the job on an
 *   instance (execution_node, instance_group_id, task_impact set) and queued a dispatcher
 *   task for that node. Precondition: status = 'pending'.
 * - waiting → running: the node's worker picked the task up and is about to spawn the
 *   runner. Precondition: status = 'waiting' and execution_node = this node.
 * - running → final: the runner exited (successful/failed), crashed (error, with
 *   result_traceback), timed out (failed, "Job terminated due to timeout"), was canceled
 *   (canceled), or its node was lost (failed, "Job reaped due to instance shutdown").
 * - pending/waiting → final: cancel (submit.ts), a failed dependency (failed, AWX's
 *   "Previous Task Failed: ..."), reaping.
 * Every transition is a conditional UPDATE on the expected prior status, so a racing writer
 * (a cancel, a reaper on another node) makes the loser's UPDATE match no row instead of
 * overwriting. A final status is saved in the same transaction as finalStatusSaved() (the
 * pipeline's notification rendezvous), and a `jobs-status_changed` message is published
 * after each commit.
 */
export const ACTIVE_STATUSES = ['pending', 'waiting', 'running'] as const;
export const FINAL_STATUSES = ['successful', 'failed', 'error', 'canceled'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

export const REAPED_EXPLANATION = 'Job reaped due to instance shutdown';
/** AWX's startup_reaping: a node's own jobs found running when it starts. */
export const STARTUP_REAPED_EXPLANATION = 'Task was marked as running at system start up. The system must have not shut down properly, so it has been marked as failed.';
export const TIMEOUT_EXPLANATION = 'Job terminated due to timeout';

export interface StatusBus { redis: Redis; config: Pick<Config, 'redisPrefix' | 'callbackQueue'> }

interface JobRow {
  id: number; status: string; kind: string; unified_job_template_id: number | null; finished: Date | null; launch_type?: string;
  /** The workflow job whose node this job is (WORKFLOW_JOB_ID_SQL), if any. */
  workflow_job_id?: number | null;
}

/** SQL over unified_jobs aliased `u`: the workflow job a job belongs to through its node (unique index on job_id). */
export const WORKFLOW_JOB_ID_SQL = '(SELECT n.workflow_job_id FROM workflow_job_nodes n WHERE n.job_id = u.id) AS workflow_job_id';

export async function publishStatus(bus: StatusBus | undefined, rows: JobRow[]): Promise<void> {
  if (!bus) return;
  const channel = redisKeys(bus.config).broadcastChannel;
  for (const row of rows) {
    await publishBroadcast(bus.redis, channel, statusChangedMessage(row)).catch((err) => log.warn('status publish failed', { err }));
    if (row.workflow_job_id) {
      await publishBroadcast(bus.redis, channel, workflowEventMessage(row, row.workflow_job_id))
        .catch((err) => log.warn('workflow event publish failed', { err }));
    }
  }
}

/** AWX's `workflow_events-<workflow job id>` message: a node's job changed status (the console's workflow view follows it). */
function workflowEventMessage(row: JobRow, workflowJobId: number) {
  return { group: `workflow_events-${workflowJobId}`, messages: [{ unified_job_id: row.id, status: row.status, type: row.kind,
    group_name: 'workflow_events', workflow_job_id: workflowJobId, workflow_job_template_id: row.unified_job_template_id ?? null,
    unified_job_template_id: row.unified_job_template_id ?? null, finished: row.finished ?? null }] };
}

/** waiting → running. Returns false (and changes nothing) when the job is no longer waiting here. */
export async function markRunning(pool: pg.Pool, bus: StatusBus | undefined, jobId: number, node: string): Promise<boolean> {
  const { rows } = await pool.query<JobRow>(
    `UPDATE unified_jobs u SET status = 'running', started = now(), modified = now(), job_explanation = ''
      WHERE id = $1 AND status = 'waiting' AND execution_node = $2 AND NOT cancel_flag
      RETURNING id, status, kind, unified_job_template_id, finished, ${WORKFLOW_JOB_ID_SQL}`, [jobId, node]);
  await publishStatus(bus, rows);
  return rows.length === 1;
}

export interface FinalFields {
  status: FinalStatus;
  jobExplanation?: string;
  resultTraceback?: string;
  emittedEvents?: number;
  extra?: Record<string, unknown>;
}

/**
 * Saves a final status for one job if it is still in one of `from`, with the rendezvous in
 * the same transaction. Returns whether this call made the transition.
 */
export async function saveFinalStatus(pool: pg.Pool, bus: StatusBus | undefined, jobId: number,
  fields: FinalFields, from: readonly string[] = ACTIVE_STATUSES): Promise<boolean> {
  if (!FINAL_STATUSES.includes(fields.status)) {
    throw new PlaystreamError('PS_ERR_JOB_STATE', `${fields.status} is not a final status`);
  }
  const extra = fields.extra ?? {};
  const extraCols = Object.keys(extra);
  const row = await withTransaction(pool, async (client) => {
    const { rows } = await client.query<JobRow>(
      `UPDATE unified_jobs u SET status = $2, failed = $2 IN ('failed', 'error'), finished = now(), modified = now(),
          elapsed = COALESCE(EXTRACT(EPOCH FROM now() - started), 0),
          job_explanation = COALESCE($3, job_explanation), result_traceback = COALESCE($4, result_traceback),
          emitted_events = COALESCE($5, emitted_events)
          ${extraCols.map((c, i) => `, "${c}" = $${i + 7}`).join('')}
        WHERE id = $1 AND status = ANY($6)
        RETURNING id, status, kind, unified_job_template_id, finished, launch_type, ${WORKFLOW_JOB_ID_SQL}`,
      [jobId, fields.status, fields.jobExplanation ?? null, fields.resultTraceback ?? null, fields.emittedEvents ?? null,
        [...from], ...extraCols.map((c) => extra[c])]);
    if (!rows.length) return null;
    await recordOnTemplate(client, rows[0]);
    await finalStatusSaved(client, jobId);
    // A workflow node's job finished: the task manager advances its workflow (AWX's "handle work" wake-up, delivered at commit).
    if (rows[0].launch_type === 'workflow') await wakeTaskManager(client);
    return rows[0];
  });
  if (row) await publishStatus(bus, [row]);
  return row !== null;
}

/** AWX keeps the last job's id, time and outcome on its template (and status on projects/sources). */
async function recordOnTemplate(client: pg.PoolClient, row: JobRow): Promise<void> {
  // A node's local sync (project-sync.ts) is not the project's update: its status stays the last real one's.
  if (!row.unified_job_template_id || row.launch_type === 'sync') return;
  const table = { job: 'job_templates', project_update: 'projects', inventory_update: 'inventory_sources',
    system_job: 'system_job_templates', workflow_job: 'workflow_job_templates', workflow_approval: 'workflow_approval_templates' }[row.kind];
  if (!table) return;
  await client.query(
    `UPDATE ${table} SET last_job_id = $2, last_job_run = now(), last_job_failed = $3 IN ('failed', 'error'), status = $3
      WHERE id = $1`, [row.unified_job_template_id, row.id, row.status]);
}
