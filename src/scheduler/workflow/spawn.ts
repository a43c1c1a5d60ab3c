import type pg from 'pg';
import { PlaystreamError } from '../../errors.js';
import { jobFromTemplate, launchInventoryUpdate, launchJobTemplate, launchProjectUpdate, launchSystemJob, type JobOverrides } from '../launch.js';
import { submitUnifiedJob, submitUnifiedJobs, type SubmittedJob } from '../submit.js';
import { parseVars } from '../vars.js';
import { recursionExplanation } from './graph.js';
import { launchWorkflowJobTemplate, type WorkflowOverrides } from './launch-workflow.js';

/**
 * Creating the jobs of the workflow nodes a pass starts (AWX's WorkflowJobNode.get_job_kwargs
 * and the spawn loop of its WorkflowManager).
 *
 * Prompts, as AWX combines them: the workflow job's own prompts (inventory, limit,
 * scm_branch, tags) override the node's, and either reaches the job only where its template
 * asks for the field; the workflow's extra vars reach every job template's job whatever it
 * asks, above the artifacts (set_stats) of the nodes before it, which are above the node's
 * accepted extra data. A node's credentials replace the template's of the same type.
 *
 * Cost: the pass may start the next node of a thousand workflows at once, so everything is
 * read in bulk (nodes, templates, artifacts, credentials: six queries whatever their number)
 * and job template jobs, the usual node, are inserted together (submitUnifiedJobs). Other
 * kinds go one by one. 1,000 next nodes took 4.2 s one by one and take 0.67 s so, placement included (`npm run
 * bench:scheduler`, BENCH_ONLY=workflows, 2 cores).
 *
 * A node whose job cannot start (its template is gone or lacks a project or inventory, or a
 * workflow it would nest is already running above it) still gets a job, created `new` and
 * returned here to be failed with the reason after commit, as AWX records it.
 */
export interface WorkflowJobRow {
  id: number; name: string; unified_job_template_id: number | null; cancel_flag: boolean; created_by_id: number | null;
  inventory_id: number | null; limit: string; scm_branch: string; job_tags: string; skip_tags: string; extra_vars: string;
  is_sliced_job: boolean; job_slice_count: number; launch_prompts: JobOverrides;
}

export const MISSING_RESOURCE_EXPLANATION =
  'Job spawned from workflow could not start because it was missing a related resource such as project or inventory';

interface SpawnNode {
  id: number; unified_job_template_id: number | null; inventory_id: number | null; limit: string | null; job_tags: string | null;
  skip_tags: string | null; scm_branch: string | null; job_type: 'run' | 'check' | null; verbosity: number | null;
  diff_mode: boolean | null; extra_data: Record<string, unknown>; credentials: number[]; ancestor_artifacts: Record<string, unknown>;
}
type Template = { kind: string; row: Record<string, any> };

const TEMPLATE_TABLES: [string, string][] = [['job_template', 'job_templates'], ['workflow_job_template', 'workflow_job_templates'],
  ['project', 'projects'], ['inventory_source', 'inventory_sources'], ['system_job_template', 'system_job_templates'],
  ['workflow_approval_template', 'workflow_approval_templates']];

const JOB_KIND_OF: Record<string, string> = { job_template: 'job', workflow_job_template: 'workflow_job', project: 'project_update',
  inventory_source: 'inventory_update', system_job_template: 'system_job', workflow_approval_template: 'workflow_approval' };

/** Creates the jobs of `items` and links them to their nodes; returns the jobs to fail, with why. */
export async function spawnNodeJobs(db: pg.PoolClient, items: { wj: WorkflowJobRow; nodeId: number }[]): Promise<{ id: number; explanation: string }[]> {
  if (!items.length) return [];
  const nodeIds = items.map((i) => i.nodeId);
  const { rows: nodeRows } = await db.query<SpawnNode>(
    `SELECT n.id, n.unified_job_template_id, n.inventory_id, n."limit", n.job_tags, n.skip_tags, n.scm_branch, n.job_type, n.verbosity,
            n.diff_mode, n.extra_data, n.ancestor_artifacts,
            ARRAY(SELECT credential_id FROM workflow_job_node_credentials c WHERE c.node_id = n.id ORDER BY credential_id) AS credentials
       FROM workflow_job_nodes n WHERE n.id = ANY($1::bigint[])`, [nodeIds]);
  const nodes = new Map(nodeRows.map((n) => [Number(n.id), n]));
  const templates = await loadTemplates(db, nodeRows.map((n) => n.unified_job_template_id).filter((x): x is number => x !== null));
  const artifacts = await ancestorArtifacts(db, nodeIds);
  const credentials = await loadCredentials(db, [...templates.values()].filter((t) => t.kind === 'job_template').map((t) => Number(t.row.id)),
    nodeRows.flatMap((n) => n.credentials));

  const batch: { nodeId: number; job: SubmittedJob }[] = [];
  const jobOf = new Map<number, number>();
  const refused: { id: number; explanation: string }[] = [];
  const refuse = async (wj: WorkflowJobRow, node: SpawnNode, template: Template | undefined, explanation: string) => {
    const { rows: [row] } = await db.query<{ id: number }>(
      `INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, launch_type, created_by_id, status, dependencies_processed)
       VALUES ($1, $2, $3, $4, 'workflow', $5, 'new', true) RETURNING id`,
      [JOB_KIND_OF[template?.kind ?? 'job_template'], template?.row.name ?? '', node.unified_job_template_id,
        template?.row.organization_id ?? null, wj.created_by_id]);
    jobOf.set(Number(node.id), row.id);
    refused.push({ id: row.id, explanation });
  };
  for (const { wj, nodeId } of items) {
    const node = nodes.get(nodeId)!;
    const template = node.unified_job_template_id === null ? undefined : templates.get(Number(node.unified_job_template_id));
    const opts = { launchType: 'workflow' as const, userId: wj.created_by_id };
    const aa = artifacts.get(nodeId) ?? {};
    if (!template) { await refuse(wj, node, template, MISSING_RESOURCE_EXPLANATION); continue; }
    const sliceNumber = Number(node.ancestor_artifacts?.job_slice ?? 0);
    if (template.kind === 'job_template' && (sliceNumber > 0 || !(template.row.job_slice_count > 1))) {
      try {
        const own = credentials.ofTemplate.get(Number(template.row.id)) ?? [];
        // A slice runs with the prompts its sliced job was launched with (already accepted then).
        const job = sliceNumber > 0 && wj.is_sliced_job
          ? jobFromTemplate(template.row, own.map((c) => c.id), { ...opts, overrides: wj.launch_prompts ?? {},
            slice: { number: sliceNumber, count: wj.job_slice_count } })
          : jobFromTemplate(template.row, own.map((c) => c.id), { ...opts, overrides: jobPrompts(template.row, node, wj, aa, own, credentials.typeOf) });
        batch.push({ nodeId, job });
      } catch (err) {
        if (!(err instanceof PlaystreamError)) throw err;
        await refuse(wj, node, template, MISSING_RESOURCE_EXPLANATION);
      }
      continue;
    }
    if (template.kind === 'workflow_job_template') {
      const recursion = await recursionRefusal(db, wj, template.row);
      if (recursion) { await refuse(wj, node, template, recursion); continue; }
    }
    await db.query('SAVEPOINT workflow_spawn');
    try {
      jobOf.set(nodeId, template.kind === 'job_template'
        // A sliced job template in a workflow: its launch slices it into a nested workflow, as AWX's does.
        ? await launchJobTemplate(db, template.row.id, { ...opts, overrides: jobPrompts(template.row, node, wj, aa,
          credentials.ofTemplate.get(Number(template.row.id)) ?? [], credentials.typeOf) })
        : await launchOne(db, template, opts, workflowPrompts(template.row, node, wj, aa)));
      await db.query('RELEASE SAVEPOINT workflow_spawn');
    } catch (err) {
      await db.query('ROLLBACK TO SAVEPOINT workflow_spawn');
      if (!(err instanceof PlaystreamError)) throw err;
      await refuse(wj, node, template, MISSING_RESOURCE_EXPLANATION);
    }
  }
  const ids = await submitUnifiedJobs(db, batch.map((b) => b.job));
  batch.forEach((b, i) => jobOf.set(b.nodeId, ids[i]));
  // A root keeps its own ancestor artifacts (a slice's job_slice); AWX saves them only for nodes with parents.
  const linked = [...jobOf.entries()];
  await db.query(
    `UPDATE workflow_job_nodes n SET job_id = v.job, ancestor_artifacts = COALESCE(v.aa, n.ancestor_artifacts), modified = now()
       FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[]) AS v(node, job, aa) WHERE n.id = v.node`,
    [linked.map((l) => l[0]), linked.map((l) => l[1]), linked.map((l) => (artifacts.has(l[0]) ? JSON.stringify(artifacts.get(l[0])) : null))]);
  return refused;
}

/** A node job of any kind but a job template's. */
async function launchOne(db: pg.PoolClient, template: Template, opts: { launchType: 'workflow'; userId: number | null },
  workflowOverrides: WorkflowOverrides): Promise<number> {
  switch (template.kind) {
    case 'workflow_job_template': return launchWorkflowJobTemplate(db, template.row.id, { ...opts, workflowOverrides });
    case 'project': return launchProjectUpdate(db, template.row.id, opts);
    case 'inventory_source': return launchInventoryUpdate(db, template.row.id, opts);
    case 'system_job_template': return launchSystemJob(db, template.row.id, opts);
    default:
      // An approval waits in pending for approve/deny or its timeout; AWX counts it started when created.
      return submitUnifiedJob(db, { kind: 'workflow_approval', name: template.row.name, description: template.row.description,
        unified_job_template_id: template.row.id, launch_type: 'workflow', created_by_id: opts.userId, timeout: template.row.timeout,
        started: new Date(), stream_complete: true, dependencies_processed: true });
  }
}

/** The templates nodes name, whatever their kind (one id sequence), one query per kind. */
async function loadTemplates(db: pg.PoolClient, ids: number[]): Promise<Map<number, Template>> {
  const out = new Map<number, Template>();
  if (!ids.length) return out;
  const unique = [...new Set(ids.map(Number))];
  for (const [kind, table] of TEMPLATE_TABLES) {
    const { rows } = await db.query(`SELECT * FROM ${table} WHERE id = ANY($1::bigint[])`, [unique]);
    for (const row of rows) out.set(Number(row.id), { kind, row });
    if (out.size === unique.length) break;
  }
  return out;
}

/** Artifacts of the nodes before each: their own ancestors' and their jobs' (set_stats), nearer ones last. */
async function ancestorArtifacts(db: pg.PoolClient, nodeIds: number[]): Promise<Map<number, Record<string, unknown>>> {
  const { rows } = await db.query<{ to_id: number; ancestor_artifacts: Record<string, unknown>; artifacts: Record<string, unknown> | null }>(
    `SELECT e.to_id, p.ancestor_artifacts, j.artifacts FROM workflow_job_node_edges e JOIN workflow_job_nodes p ON p.id = e.from_id
       LEFT JOIN unified_jobs j ON j.id = p.job_id WHERE e.to_id = ANY($1::bigint[]) ORDER BY e.to_id, p.id`, [nodeIds]);
  const out = new Map<number, Record<string, unknown>>();
  for (const r of rows) {
    const into = out.get(Number(r.to_id)) ?? {};
    Object.assign(into, r.ancestor_artifacts, r.artifacts ?? {});
    out.set(Number(r.to_id), into);
  }
  return out;
}

interface Credentials {
  ofTemplate: Map<number, { id: number; type: number }[]>;
  typeOf: Map<number, number>;
}

async function loadCredentials(db: pg.PoolClient, jobTemplateIds: number[], nodeCredentialIds: number[]): Promise<Credentials> {
  const { rows: own } = await db.query<{ job_template_id: number; id: number; type: number }>(
    `SELECT jc.job_template_id, c.id, c.credential_type_id AS type FROM job_template_credentials jc JOIN credentials c ON c.id = jc.credential_id
      WHERE jc.job_template_id = ANY($1::bigint[]) ORDER BY c.id`, [jobTemplateIds]);
  const { rows: types } = await db.query<{ id: number; type: number }>(
    'SELECT id, credential_type_id AS type FROM credentials WHERE id = ANY($1::bigint[])', [nodeCredentialIds]);
  const ofTemplate = new Map<number, { id: number; type: number }[]>();
  for (const c of own) ofTemplate.set(Number(c.job_template_id), [...(ofTemplate.get(Number(c.job_template_id)) ?? []), { id: Number(c.id), type: Number(c.type) }]);
  return { ofTemplate, typeOf: new Map(types.map((t) => [Number(t.id), Number(t.type)])) };
}

/** AWX's get_ancestor_workflows: the templates of the workflows above `wj`, nearest first, including its own. */
async function recursionRefusal(db: pg.PoolClient, wj: WorkflowJobRow, template: Record<string, any>): Promise<string | null> {
  const { rows } = await db.query<{ id: number; name: string }>(
    `WITH RECURSIVE up(job_id, depth) AS (
       SELECT $1::bigint, 0
       UNION ALL
       SELECT n.workflow_job_id, up.depth + 1 FROM up JOIN workflow_job_nodes n ON n.job_id = up.job_id WHERE up.depth < 100)
     SELECT t.id, t.name FROM up JOIN unified_jobs j ON j.id = up.job_id JOIN workflow_job_templates t ON t.id = j.unified_job_template_id
      ORDER BY up.depth`, [wj.id]);
  return recursionExplanation(Number(template.id), template.name, rows.map((r) => ({ id: Number(r.id), name: r.name })));
}

/** The workflow job's own prompts: the fields it carries that were set (AWX's prompts_dict of the workflow job). */
function workflowJobPrompts(wj: WorkflowJobRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (wj.inventory_id !== null) out.inventory_id = Number(wj.inventory_id);
  for (const f of ['limit', 'scm_branch', 'job_tags', 'skip_tags'] as const) if (wj[f]) out[f] = wj[f];
  return out;
}

function nodePrompts(node: SpawnNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (node.inventory_id !== null) out.inventory_id = Number(node.inventory_id);
  for (const f of ['limit', 'job_tags', 'skip_tags', 'scm_branch', 'job_type', 'verbosity', 'diff_mode'] as const) {
    if (node[f] !== null) out[f] = node[f];
  }
  return out;
}

/** Prompt field → the template's flag that accepts it. */
const JT_ASK: Record<string, string> = {
  inventory_id: 'ask_inventory_on_launch', limit: 'ask_limit_on_launch', job_tags: 'ask_tags_on_launch', skip_tags: 'ask_skip_tags_on_launch',
  scm_branch: 'ask_scm_branch_on_launch', job_type: 'ask_job_type_on_launch', verbosity: 'ask_verbosity_on_launch',
  diff_mode: 'ask_diff_mode_on_launch',
};
const WFJT_ASK: Record<string, string> = {
  inventory_id: 'ask_inventory_on_launch', limit: 'ask_limit_on_launch', job_tags: 'ask_tags_on_launch', skip_tags: 'ask_skip_tags_on_launch',
  scm_branch: 'ask_scm_branch_on_launch',
};

/** Extra vars a template accepts: all when it asks for variables, else its survey's questions. */
export function acceptedVars(template: Record<string, any>, vars: Record<string, unknown>): Record<string, unknown> {
  if (template.ask_variables_on_launch) return { ...vars };
  if (!template.survey_enabled) return {};
  const spec = (template.survey_spec ?? {}) as { spec?: { variable?: string }[] };
  const asked = new Set((spec.spec ?? []).map((q) => q.variable));
  return Object.fromEntries(Object.entries(vars).filter(([k]) => asked.has(k)));
}

function jobPrompts(jt: Record<string, any>, node: SpawnNode, wj: WorkflowJobRow, artifacts: Record<string, unknown>,
  own: { id: number; type: number }[], typeOf: Map<number, number>): JobOverrides {
  const combined = { ...nodePrompts(node), ...workflowJobPrompts(wj) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(combined)) if (jt[JT_ASK[k]]) out[k] = v;
  if (node.credentials.length && jt.ask_credential_on_launch) {
    const replaced = new Set(node.credentials.map((c) => typeOf.get(Number(c))));
    out.credentials = [...own.filter((c) => !replaced.has(c.type)).map((c) => c.id), ...node.credentials.map(Number)];
  }
  const extraVars = { ...acceptedVars(jt, node.extra_data ?? {}), ...artifacts, ...parseVars(wj.extra_vars) };
  if (Object.keys(extraVars).length) out.extra_vars = extraVars;
  return out as JobOverrides;
}

function workflowPrompts(wfjt: Record<string, any>, node: SpawnNode, wj: WorkflowJobRow, artifacts: Record<string, unknown>): WorkflowOverrides {
  const combined = { ...nodePrompts(node), ...workflowJobPrompts(wj) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(combined)) if (WFJT_ASK[k] && wfjt[WFJT_ASK[k]]) out[k] = v;
  const extraVars = { ...acceptedVars(wfjt, { ...(node.extra_data ?? {}), ...parseVars(wj.extra_vars) }), ...artifacts };
  if (Object.keys(extraVars).length) out.extra_vars = extraVars;
  return out as WorkflowOverrides;
}
