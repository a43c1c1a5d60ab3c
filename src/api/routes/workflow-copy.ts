import { requireLink } from '../access.js';
import type { Caller, Queryable } from '../engine/resource.js';

/**
 * What a workflow job template's copy (`POST /workflow_job_templates/N/copy/`, object-actions.ts)
 * carries besides its row and labels, as AWX's WorkflowJobTemplateCopy does: every node with
 * its identifier, prompts and convergence, the success/failure/always edges between them and
 * the nodes' credentials — leaving out, node by node, what the copier may not use (AWX's
 * deep_copy_permission_check_func): a template they may not start, an inventory or a
 * credential they may not use. An approval node gets its own approval template (same name,
 * description and timeout), so each workflow's approvals stay its own. The copy has never
 * run.
 */
export async function copyWorkflowGraph(db: Queryable, from: number, to: number, caller: Caller): Promise<void> {
  await db.query(`UPDATE workflow_job_templates SET status = 'never updated', last_job_id = NULL, last_job_run = NULL, last_job_failed = false
                   WHERE id = $1`, [to]);
  const allowed = async (field: string, id: number | null): Promise<boolean> => {
    if (id == null) return false;
    try {
      await requireLink(db, caller.grants, 'workflow_job_template_node', field, [Number(id)]);
      return true;
    } catch {
      return false;
    }
  };
  const { rows: nodes } = await db.query(
    `SELECT n.*, a.id AS approval_id, a.name AS approval_name, a.description AS approval_description, a.timeout AS approval_timeout
       FROM workflow_job_template_nodes n LEFT JOIN workflow_approval_templates a ON a.id = n.unified_job_template_id
      WHERE n.workflow_job_template_id = $1 ORDER BY n.id`, [from]);
  const mapped = new Map<number, number>();
  for (const n of nodes) {
    let ujt: number | null = null;
    if (n.approval_id != null) {
      const { rows: [a] } = await db.query('INSERT INTO workflow_approval_templates (name, description, timeout) VALUES ($1, $2, $3) RETURNING id',
        [n.approval_name, n.approval_description, n.approval_timeout]);
      ujt = Number(a.id);
    } else if (await allowed('unified_job_template', n.unified_job_template_id)) {
      ujt = Number(n.unified_job_template_id);
    }
    const inventory = (await allowed('inventory', n.inventory_id)) ? n.inventory_id : null;
    const { rows: [copy] } = await db.query(
      `INSERT INTO workflow_job_template_nodes (workflow_job_template_id, unified_job_template_id, identifier, all_parents_must_converge,
         inventory_id, "limit", job_tags, skip_tags, scm_branch, job_type, verbosity, diff_mode, extra_data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
      [to, ujt, n.identifier, n.all_parents_must_converge, inventory, n.limit, n.job_tags, n.skip_tags, n.scm_branch, n.job_type,
        n.verbosity, n.diff_mode, JSON.stringify(n.extra_data ?? {})]);
    mapped.set(Number(n.id), Number(copy.id));
    const { rows: creds } = await db.query('SELECT credential_id FROM workflow_job_template_node_credentials WHERE node_id = $1 ORDER BY credential_id', [n.id]);
    for (const c of creds) {
      if (!(await allowed('credentials', c.credential_id))) continue;
      await db.query('INSERT INTO workflow_job_template_node_credentials (node_id, credential_id) VALUES ($1, $2)', [copy.id, c.credential_id]);
    }
  }
  if (!mapped.size) return;
  await db.query(
    `WITH m AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS m(old, new))
     INSERT INTO workflow_job_template_node_edges (from_id, kind, to_id)
     SELECT f.new, e.kind, t.new FROM workflow_job_template_node_edges e JOIN m f ON f.old = e.from_id JOIN m t ON t.old = e.to_id`,
    [[...mapped.keys()], [...mapped.values()]]);
}
