import { defineResource } from '../engine/resource.js';
import { HttpError, badRequest } from '../http.js';
import { int, named, ro } from './common.js';
import { unifiedJobAccess, unifiedJobFields } from './unified-jobs.js';

/**
 * Approval nodes' resources (AWX's WorkflowApprovalTemplate and WorkflowApproval): an
 * approval template is made through its node (routes/workflows.ts), and both carry the
 * roles of the workflow job template whose node points at them.
 */
/** The workflow job template an approval (template or job) belongs to, through the node that points at it. */
const APPROVAL_TEMPLATE_WFJT = '(SELECT n.workflow_job_template_id FROM workflow_job_template_nodes n WHERE n.unified_job_template_id = t.id ORDER BY n.id LIMIT 1)';

export const workflowApprovalTemplates = defineResource({
  key: 'workflow_approval_templates', type: 'workflow_approval_template', table: 'workflow_approval_templates',
  fields: { ...named, timeout: int(), status: ro('text'), last_job_run: ro('time'), last_job_failed: ro('bool'),
    last_job: ro('int', { col: 't.last_job_id' }) },
  search: ['name', 'description'], defaultOrder: 'id',
  access: { roleType: 'workflow_job_template', idExpr: APPROVAL_TEMPLATE_WFJT,
    orgExpr: `(SELECT w.organization_id FROM workflow_job_templates w WHERE w.id = ${APPROVAL_TEMPLATE_WFJT})` },
  related: (r) => ({ jobs: `/api/v2/workflow_approval_templates/${r.id}/jobs/` }),
  prepare: (_ctx, _db, data, existing) => {
    // Created only through a node (create_approval_template), as AWX's list offers no POST.
    if (!existing) throw new HttpError(405, { detail: 'Method "POST" not allowed.' });
    if (data.timeout !== undefined && (data.timeout as number) < 0) throw badRequest({ timeout: ['Ensure this value is greater than or equal to 0.'] });
    return data;
  },
});

/** The workflow job an approval job runs in: its template carries the roles. */
const APPROVAL_WORKFLOW_JOB = '(SELECT n.workflow_job_id FROM workflow_job_nodes n WHERE n.job_id = t.id)';

export const workflowApprovals = defineResource({
  key: 'workflow_approvals', type: 'workflow_approval', table: 'unified_jobs', where: `t.kind = 'workflow_approval'`,
  fields: {
    ...unifiedJobFields,
    workflow_approval_template: ro('int', { col: 't.unified_job_template_id', fk: 'workflow_approval_templates' }),
    timeout: ro('int'), timed_out: ro('bool'),
    approved_or_denied_by: ro('int', { col: 't.approved_or_denied_by_id', fk: 'users' }),
    expires: ro('time', { col: `(CASE WHEN t.timeout > 0 THEN t.created + make_interval(secs => t.timeout) END)` }),
  },
  search: ['name', 'description'], defaultOrder: 'id', readOnly: true,
  access: {
    roleType: 'workflow_job_template',
    idExpr: `(SELECT w.unified_job_template_id FROM unified_jobs w WHERE w.id = ${APPROVAL_WORKFLOW_JOB})`,
    orgExpr: `(SELECT w.organization_id FROM unified_jobs w WHERE w.id = ${APPROVAL_WORKFLOW_JOB})`,
    readSql: (g, p) => `t.id IN (SELECT n.job_id FROM workflow_job_nodes n WHERE n.workflow_job_id IN
      (SELECT t.id FROM unified_jobs t WHERE t.kind = 'workflow_job' AND ${unifiedJobAccess.readSql(g, p)}))`,
  },
  related: (r) => {
    const u = `/api/v2/workflow_approvals/${r.id}/`;
    return { approve: `${u}approve/`, deny: `${u}deny/`,
      ...(r.unified_job_template != null ? { workflow_approval_template: `/api/v2/workflow_approval_templates/${r.unified_job_template}/` } : {}) };
  },
  extraSummary: async (ctx, rows, caller) => {
    const { rows: owners } = await ctx.pool.query(
      `SELECT n.job_id, w.unified_job_template_id AS wfjt, w.organization_id AS org FROM workflow_job_nodes n
         JOIN unified_jobs w ON w.id = n.workflow_job_id WHERE n.job_id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
    const byJob = new Map(owners.map((o) => [Number(o.job_id), o]));
    for (const r of rows) {
      const o = byJob.get(Number(r.id));
      r.can_approve_or_deny = r.status === 'pending' && (caller.grants.superuser
        || (!!o && caller.grants.perms('workflow_job_template', o.wfjt, o.org).has('approve')));
    }
  },
  present: (_row, out) => { out.type = 'workflow_approval'; },
});
