import type pg from 'pg';
import { atomically } from '../../db/pool.js';
import { PlaystreamError } from '../../errors.js';
import type { LaunchOptions } from '../launch.js';
import { submitUnifiedJob } from '../submit.js';
import { parseVars } from '../vars.js';

/**
 * Launching a workflow job template: one `workflow_job` row of unified_jobs (pending; the
 * task manager's workflow pass moves it to running, advance.ts) and a copy of the
 * template's nodes, their prompts, credentials and edges as workflow_job_nodes, in one
 * transaction (the caller's, or one of its own when given the pool). The task manager reads
 * a workflow's graph when it first sees the job: a job visible before its edges ran every
 * node as a root, the failure paths with the rest. Copying at launch is AWX's: editing the
 * template afterwards changes no running workflow.
 */
type Queryable = Pick<pg.Pool, 'query'>;

/** The prompts a workflow job template accepts at launch (its ask_*_on_launch), already accepted by the caller. */
export interface WorkflowOverrides {
  extra_vars?: Record<string, unknown>;
  inventory_id?: number | null;
  limit?: string;
  scm_branch?: string;
  job_tags?: string;
  skip_tags?: string;
}

export function launchWorkflowJobTemplate(db: Queryable, templateId: number,
  opts: LaunchOptions & { workflowOverrides?: WorkflowOverrides } = {}): Promise<number> {
  return atomically(db, (tx) => launchWorkflow(tx, templateId, opts));
}

async function launchWorkflow(db: Queryable, templateId: number, opts: LaunchOptions & { workflowOverrides?: WorkflowOverrides }): Promise<number> {
  const { rows: [t] } = await db.query<Record<string, any>>('SELECT * FROM workflow_job_templates WHERE id = $1', [templateId]);
  if (!t) throw new PlaystreamError('PS_ERR_NOT_FOUND', `workflow job template ${templateId} not found`);
  const o = opts.workflowOverrides ?? {};
  const extraVars = { ...parseVars(t.extra_vars), ...(o.extra_vars ?? {}) };
  const jobId = await submitUnifiedJob(db, {
    kind: 'workflow_job', name: t.name, description: t.description, unified_job_template_id: t.id, organization_id: t.organization_id,
    launch_type: opts.launchType ?? 'manual', created_by_id: opts.userId ?? null, schedule_id: opts.scheduleId ?? null,
    inventory_id: o.inventory_id !== undefined ? o.inventory_id : t.inventory_id, limit: o.limit ?? t.limit,
    scm_branch: o.scm_branch ?? t.scm_branch, job_tags: o.job_tags ?? t.job_tags, skip_tags: o.skip_tags ?? t.skip_tags,
    extra_vars: Object.keys(extraVars).length ? JSON.stringify(extraVars) : '', allow_simultaneous: t.allow_simultaneous,
    launch_prompts: JSON.stringify(o),
    ...(opts.webhook ? { webhook_service: opts.webhook.service, webhook_guid: opts.webhook.guid } : {}),
    // No events, no dependencies: its final status alone completes its processing.
    stream_complete: true, dependencies_processed: true,
  });
  await copyTemplateNodes(db, templateId, jobId);
  return jobId;
}

/** Template nodes → job nodes, matched by identifier (unique within a template) to carry credentials and edges over. */
async function copyTemplateNodes(db: Queryable, templateId: number, workflowJobId: number): Promise<void> {
  const { rows } = await db.query<{ tid: string; jid: string }>(
    `WITH src AS (SELECT * FROM workflow_job_template_nodes WHERE workflow_job_template_id = $1),
          ins AS (INSERT INTO workflow_job_nodes (workflow_job_id, unified_job_template_id, identifier, all_parents_must_converge,
                    inventory_id, "limit", job_tags, skip_tags, scm_branch, job_type, verbosity, diff_mode, extra_data)
                  SELECT $2, unified_job_template_id, identifier, all_parents_must_converge, inventory_id, "limit", job_tags,
                         skip_tags, scm_branch, job_type, verbosity, diff_mode, extra_data FROM src ORDER BY id
                  RETURNING id, identifier)
     SELECT src.id AS tid, ins.id AS jid FROM src JOIN ins USING (identifier)`, [templateId, workflowJobId]);
  if (!rows.length) return;
  const tids = rows.map((r) => r.tid);
  const jids = rows.map((r) => r.jid);
  await db.query(
    `WITH m AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS m(tid, jid))
     INSERT INTO workflow_job_node_edges (from_id, kind, to_id)
     SELECT f.jid, e.kind, t.jid FROM workflow_job_template_node_edges e JOIN m f ON f.tid = e.from_id JOIN m t ON t.tid = e.to_id`,
    [tids, jids]);
  await db.query(
    `WITH m AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS m(tid, jid))
     INSERT INTO workflow_job_node_credentials (node_id, credential_id)
     SELECT m.jid, c.credential_id FROM workflow_job_template_node_credentials c JOIN m ON m.tid = c.node_id`,
    [tids, jids]);
}
