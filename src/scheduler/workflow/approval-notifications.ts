import type pg from 'pg';
import { readSetting } from '../../db/settings.js';
import { renderTemplate } from '../notification-messages.js';

/**
 * An approval's notifications (AWX's WorkflowApproval.send_approval_notification): when it
 * starts waiting (`running`), is approved, denied, or times out, every notification template
 * attached for `approvals` to its workflow's template or that template's organization gets
 * a pending notification, sent by the dispatcher's notification loop like any other.
 *
 * The subject and body are rendered here against AWX's approval context (approval_status,
 * approval_node_name, workflow_url, job_metadata), from the template's `workflow_approval`
 * messages for that status or AWX's defaults; a webhook's body is a JSON object (AWX's
 * default `{"body": "..."}`). approval_status marks the row so the sender does not render
 * it again as a job's message.
 */
export type ApprovalStatus = 'running' | 'approved' | 'denied' | 'timed_out';

const DEFAULT_MESSAGE: Record<ApprovalStatus, string> = {
  running: 'The approval node "{{ approval_node_name }}" needs review. This node can be viewed at: {{ workflow_url }}',
  approved: 'The approval node "{{ approval_node_name }}" was approved. {{ workflow_url }}',
  denied: 'The approval node "{{ approval_node_name }}" was denied. {{ workflow_url }}',
  timed_out: 'The approval node "{{ approval_node_name }}" has timed out. {{ workflow_url }}',
};

type Queryable = Pick<pg.Pool, 'query'>;

export async function createApprovalNotifications(db: Queryable, approvalId: number, status: ApprovalStatus): Promise<number> {
  const { rows: [a] } = await db.query(
    `SELECT u.id, u.name, u.status, u.started, u.finished, u.created, t.name AS node_name, n.workflow_job_id,
            w.unified_job_template_id AS wfjt, w.organization_id AS org, w.is_sliced_job, cu.username
       FROM unified_jobs u
       JOIN workflow_job_nodes n ON n.job_id = u.id
       JOIN unified_jobs w ON w.id = n.workflow_job_id
       LEFT JOIN workflow_approval_templates t ON t.id = u.unified_job_template_id
       LEFT JOIN users cu ON cu.id = u.created_by_id
      WHERE u.id = $1 AND u.kind = 'workflow_approval'`, [approvalId]);
  // AWX: no workflow job template (deleted), no notification.
  if (!a || a.wfjt == null || a.is_sliced_job) return 0;
  const { rows: templates } = await db.query<{ id: number; notification_type: string; messages: Record<string, any> | null }>(
    `SELECT DISTINCT nt.id, nt.notification_type, nt.messages
       FROM notification_template_attachments x JOIN notification_templates nt ON nt.id = x.notification_template_id
      WHERE x.on_event = 'approvals' AND ((x.resource_type = 'workflow_job_template' AND x.resource_id = $1)
         OR (x.resource_type = 'organization' AND x.resource_id = $2))`, [a.wfjt, a.org]);
  if (!templates.length) return 0;
  const base = await readSetting(db, 'TOWER_URL_BASE', 'http://127.0.0.1:8013', (v) => typeof v === 'string');
  const workflowUrl = `${base.replace(/\/+$/, '')}/jobs/workflow_job/${a.workflow_job_id}`;
  const context = {
    approval_status: status, approval_node_name: a.node_name ?? a.name, workflow_url: workflowUrl,
    job_metadata: JSON.stringify({ id: Number(a.id), name: a.name, url: workflowUrl,
      created_by: a.username ?? null, started: a.started ?? a.created, finished: a.finished, status: a.status, traceback: '' }, null, 4),
  };
  let made = 0;
  for (const t of templates) {
    const custom = t.messages?.workflow_approval?.[status] ?? {};
    const subject = renderTemplate(custom.message || DEFAULT_MESSAGE[status], context);
    let body: unknown;
    if (custom.body) {
      const rendered = renderTemplate(custom.body, context);
      if (t.notification_type === 'webhook') {
        try { body = JSON.parse(rendered); } catch { body = { body: rendered }; }
      } else {
        body = rendered;
      }
    } else {
      body = t.notification_type === 'webhook' ? { body: subject } : `${subject}\n\n${context.job_metadata}`;
    }
    await db.query(
      `INSERT INTO notifications (notification_template_id, unified_job_id, notification_type, subject, body, approval_status)
       VALUES ($1, $2, $3, $4, $5, $6)`, [t.id, a.id, t.notification_type, subject, JSON.stringify(body), status]);
    made++;
  }
  return made;
}
