import type pg from 'pg';
import type { PoolClient } from '../db/pool.js';

/**
 * The notification rendezvous (seed 002, AWX PR 12110), decided exactly once per job.
 *
 * Two triggers, each in its own transaction, each holding the job's row lock:
 *   A. the scheduler saves the final status  → finalStatusSaved(db, jobId)
 *   B. the receiver stores the wrapup event  → (wrapup.ts sets wrapup_processed, then decideNotifications)
 * Whoever runs second sees the other's committed column (the row lock orders them and READ
 * COMMITTED re-reads the locked row), flips `notifications_decided` and inserts one
 * `notifications` row (status 'pending') per attached template; the scheduler's notifier
 * sends pending rows. The flag makes a third call (a replayed batch, a status re-save) a
 * no-op. Rows become visible at commit, so sending happens after commit by construction;
 * NOTIFY playstream_notifications (delivered at commit) wakes the notifier.
 *
 * A job whose runner never dispatched the wrapup event is decided by A alone: the stream is
 * complete without it (EOF seen and every event stored: stream_complete), or the job never
 * started and no event was ever announced.
 *
 * event_processing_finished = stream_complete AND final status saved, set by whichever of
 * the two comes second, under the same lock.
 */
export const FINAL_STATUSES = ['successful', 'failed', 'error', 'canceled'];
export const NOTIFICATIONS_CHANNEL = 'playstream_notifications';

export interface RendezvousRow {
  id: number;
  kind: string;
  name: string;
  status: string;
  started: Date | null;
  eof_received: boolean;
  emitted_events: number;
  wrapup_processed: boolean;
  stream_complete: boolean;
  event_processing_finished: boolean;
  notifications_decided: boolean;
  events_missing: number;
}

export const RENDEZVOUS_COLUMNS = `id, kind, name, status, started, eof_received, emitted_events, wrapup_processed,
  stream_complete, event_processing_finished, notifications_decided, events_missing`;

/** Scheduler's trigger: call in the transaction that saves a final status. */
export async function finalStatusSaved(db: PoolClient, jobId: number): Promise<void> {
  const { rows } = await db.query<RendezvousRow>(
    `SELECT ${RENDEZVOUS_COLUMNS} FROM unified_jobs WHERE id = $1 FOR NO KEY UPDATE`, [jobId]);
  const job = rows[0];
  if (!job || !FINAL_STATUSES.includes(job.status)) return;
  const neverRan = job.started === null && !job.eof_received && job.emitted_events === 0;
  if (neverRan && !job.stream_complete) {
    await db.query('UPDATE unified_jobs SET stream_complete = true WHERE id = $1', [jobId]);
    job.stream_complete = true;
  }
  if (job.stream_complete && !job.event_processing_finished) {
    await db.query('UPDATE unified_jobs SET event_processing_finished = true WHERE id = $1', [jobId]);
    job.event_processing_finished = true;
  }
  await decideNotifications(db, job);
}

/**
 * Inserts the final notifications if both sides of the rendezvous have happened and they
 * were not inserted before. `job` must have been read under the row lock in this
 * transaction. Returns how many notification rows it created (0 when not yet, or already).
 */
export async function decideNotifications(db: pg.ClientBase, job: RendezvousRow): Promise<number> {
  if (job.notifications_decided || !FINAL_STATUSES.includes(job.status)) return 0;
  if (!job.wrapup_processed && !job.stream_complete) return 0;
  await db.query('UPDATE unified_jobs SET notifications_decided = true WHERE id = $1', [job.id]);
  job.notifications_decided = true;
  const onEvent = job.status === 'successful' ? 'success' : 'error';
  const { rowCount } = await db.query(INSERT_NOTIFICATIONS, [job.id, onEvent]);
  if (rowCount) await db.query(`SELECT pg_notify('${NOTIFICATIONS_CHANNEL}', $1)`, [String(job.id)]);
  return rowCount ?? 0;
}

// Templates attach to the job's template (job template, project, inventory source, system
// job template: one id sequence, so unified_job_template_id names any of them), to the
// job's project and inventory source, and to its organization; a workflow job's template is
// its workflow job template. DISTINCT: a template
// attached at two levels notifies once.
const INSERT_NOTIFICATIONS = `
  INSERT INTO notifications (notification_template_id, unified_job_id, status, notification_type, subject, body)
  SELECT nt.id, j.id, 'pending', nt.notification_type,
         initcap(replace(j.kind, '_', ' ')) || ' #' || j.id || ' ''' || j.name || ''' ' || j.status,
         jsonb_build_object('id', j.id, 'name', j.name, 'status', j.status, 'type', j.kind, 'failed', j.failed,
           'started', j.started, 'finished', j.finished, 'url', '/api/v2/' || CASE j.kind WHEN 'job' THEN 'jobs'
             ELSE j.kind || 's' END || '/' || j.id || '/', 'host_status_counts', j.host_status_counts)
    FROM unified_jobs j
    JOIN (SELECT DISTINCT a.notification_template_id
            FROM unified_jobs j2
            JOIN notification_template_attachments a
              ON a.on_event = $2
             AND ((a.resource_type IN ('job_template', 'project', 'inventory_source', 'system_job_template', 'workflow_job_template')
                   AND a.resource_id IN (j2.unified_job_template_id, j2.project_id, j2.inventory_source_id))
                  OR (a.resource_type = 'organization' AND a.resource_id = j2.organization_id))
           WHERE j2.id = $1) t ON true
    JOIN notification_templates nt ON nt.id = t.notification_template_id
   WHERE j.id = $1`;
