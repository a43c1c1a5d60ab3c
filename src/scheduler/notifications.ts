import nodemailer from 'nodemailer';
import type pg from 'pg';
import { request } from 'undici';
import { log } from '../log.js';
import { jobMessageContext, messageEvent, renderTemplate } from './notification-messages.js';
import type { SecretBox } from '../security/secrets.js';

/**
 * Notifications: rows in `notifications` (status pending) are the durable record; the
 * pipeline's rendezvous creates the success/error ones exactly once per job, and a worker
 * creates the `started` ones when a job starts (createStartedNotifications). The sender
 * claims due rows with FOR UPDATE SKIP LOCKED (so several nodes never send one twice),
 * sends by type — webhook (undici; method, headers, body), Slack (incoming webhook), email
 * (nodemailer SMTP) — and stores the result; a failure is retried with exponential backoff
 * (10 s, 20 s, 40 s, ...) up to MAX_ATTEMPTS, then kept as `failed` with the error.
 */
export const MAX_ATTEMPTS = 5;
export const BACKOFF_BASE_SECONDS = 10;

/** Creates pending `started` notifications for every template attached to the job's template, project/source or organization. */
export async function createStartedNotifications(db: Pick<pg.Pool, 'query'>, jobId: number): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO notifications (notification_template_id, unified_job_id, notification_type, subject, body)
     SELECT DISTINCT ON (nt.id) nt.id, j.id, nt.notification_type, j.name || ' #' || j.id || ' started',
            jsonb_build_object('id', j.id, 'name', j.name, 'status', 'running', 'type', j.kind)
       FROM unified_jobs j
       JOIN notification_template_attachments a ON a.on_event = 'started' AND (
              (a.resource_type IN ('job_template', 'project', 'inventory_source', 'system_job_template', 'workflow_job_template')
               AND a.resource_id = j.unified_job_template_id)
           OR (a.resource_type = 'organization' AND a.resource_id = j.organization_id))
       JOIN notification_templates nt ON nt.id = a.notification_template_id
      -- A sliced job's workflow is no template's run of its own: its slices notify (AWX's has no workflow job template).
      WHERE j.id = $1 AND NOT j.is_sliced_job`, [jobId]);
  return rowCount ?? 0;
}

interface NotificationRow {
  id: number; notification_type: string; subject: string; body: Record<string, unknown> | null; attempts: number;
  configuration: Record<string, any>; messages: Record<string, any> | null; unified_job_id: number | null;
  /** Set on an approval's notification, rendered when made (workflow/approval-notifications.ts). */
  approval_status: string | null;
}

/** Sends every due pending notification once; returns how many were attempted. */
export async function sendDueNotifications(pool: pg.Pool, secrets: SecretBox, limit = 20): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<NotificationRow>(
      `SELECT n.id, n.notification_type, n.subject, n.body, n.attempts, n.unified_job_id, n.approval_status,
              t.notification_configuration AS configuration, t.messages
         FROM notifications n JOIN notification_templates t ON t.id = n.notification_template_id
        WHERE n.status = 'pending' AND n.next_attempt <= now()
        ORDER BY n.next_attempt LIMIT $1 FOR UPDATE OF n SKIP LOCKED`, [limit]);
    for (const n of rows) {
      let error = '';
      try {
        await applyCustomMessages(client, n);
        await deliver({ ...n, configuration: secrets.decryptFields(n.configuration) });
      } catch (err) {
        error = String((err as Error).message ?? err).slice(0, 2000);
      }
      const attempts = n.attempts + 1;
      const status = !error ? 'successful' : attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
      await client.query(
        `UPDATE notifications SET status = $2, error = $3, attempts = $4, notifications_sent = notifications_sent + $5,
            next_attempt = now() + make_interval(secs => $6), modified = now() WHERE id = $1`,
        [n.id, status, error, attempts, error ? 0 : 1, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)]);
      if (error) log.warn('notification failed', { id: n.id, attempts, error });
    }
    await client.query('COMMIT');
    return rows.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The template's own message and body for the notification's event, rendered against its
 * job (notification-messages.ts) and stored on the notification as sent, as AWX stores its
 * rendered subject and body. A webhook body must render to a JSON object.
 */
async function applyCustomMessages(db: Pick<pg.Pool, 'query'>, n: NotificationRow): Promise<void> {
  if (n.approval_status) return;
  const pair = n.messages?.[messageEvent(n.body?.status)];
  if (!pair || (!pair.message && !pair.body) || n.unified_job_id == null) return;
  const context = await jobMessageContext(db, n.unified_job_id);
  if (!context) return;
  if (pair.message) n.subject = renderTemplate(pair.message, context);
  if (pair.body) {
    const rendered = renderTemplate(pair.body, context);
    if (n.notification_type === 'webhook') {
      let parsed: unknown;
      try { parsed = JSON.parse(rendered); } catch { throw new Error('the webhook body did not render to JSON'); }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the webhook body did not render to a JSON object');
      n.body = parsed as Record<string, unknown>;
    } else {
      n.body = rendered as unknown as Record<string, unknown>;
    }
  }
  await db.query('UPDATE notifications SET subject = $2, body = $3 WHERE id = $1', [n.id, n.subject, JSON.stringify(n.body)]);
}

async function deliver(n: NotificationRow): Promise<void> {
  const c = n.configuration;
  const body = n.body ?? {};
  const text = n.subject;
  switch (n.notification_type) {
    case 'webhook': {
      const res = await request(String(c.url), {
        method: (c.http_method ?? 'POST').toUpperCase() as 'POST', headers: { 'content-type': 'application/json', ...(c.headers ?? {}),
          ...(c.username || c.password ? { authorization: `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}` } : {}) },
        body: JSON.stringify(body), headersTimeout: 10_000, bodyTimeout: 10_000,
      });
      await res.body.text();
      if (res.statusCode >= 300) throw new Error(`webhook answered HTTP ${res.statusCode}`);
      return;
    }
    case 'slack': {
      const res = await request(String(c.url ?? c.hook_url), { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text, ...(c.channels?.length ? { channel: c.channels[0] } : {}) }), headersTimeout: 10_000 });
      await res.body.text();
      if (res.statusCode >= 300) throw new Error(`slack answered HTTP ${res.statusCode}`);
      return;
    }
    case 'email': {
      const transport = nodemailer.createTransport({ host: c.host, port: Number(c.port ?? 25), secure: Boolean(c.use_ssl),
        ignoreTLS: !c.use_tls, auth: c.username ? { user: c.username, pass: c.password } : undefined, connectionTimeout: 10_000 });
      await transport.sendMail({ from: c.sender, to: c.recipients, subject: text, text: typeof body === 'string' ? body : JSON.stringify(body, null, 2) });
      return;
    }
    default:
      throw new Error(`notification type ${n.notification_type} is not supported`);
  }
}
