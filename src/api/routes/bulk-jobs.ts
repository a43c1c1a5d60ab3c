import crypto from 'node:crypto';
import type { RequestCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { Queryable } from '../engine/resource.js';
import { parseDrfBoolean, parseDrfInteger } from '../engine/drf-values.js';
import { badRequest } from '../http.js';
import type { Perm } from '../access.js';

/**
 * The checks of POST /api/v2/bulk/job_launch/ (AWX's BulkJobLaunchSerializer), and the
 * workflow nodes they become. AWX answers every refusal here with 400, permission ones
 * included ("... not found or you don't have permissions to access it"), and so does this.
 *
 * - jobs: 1 to BULK_JOB_MAX_LAUNCH of {unified_job_template, identifier, inventory,
 *   credentials, limit, job_tags, skip_tags, scm_branch, job_type, verbosity, diff_mode,
 *   extra_data, all_parents_must_converge}; a job template or workflow job template needs
 *   execute, a project or inventory source update (system job templates and approvals are
 *   refused, as AWX refuses them); inventories and credentials need use.
 * - A prompt is applied, never dropped: one the job's template does not ask for on launch is
 *   a 400 naming it (AWX ignores it silently when the node starts). `labels`,
 *   `instance_groups`, `execution_environment`, `forks`, `timeout` and `job_slice_count`
 *   have no place on Playstream's workflow nodes and are refused by name.
 * - The top-level inventory, limit, scm_branch, job_tags and skip_tags are the workflow
 *   job's prompts, given to every node: each job (or workflow) template must ask for them,
 *   and project or inventory source nodes take none. extra_vars go to every job as AWX
 *   gives a workflow job's extra vars (job templates take them whatever they ask).
 * - organization: one the caller is a member of; by default their only one.
 */
export interface BulkNode {
  unified_job_template: number; identifier: string | null; inventory: number | null; credentials: number[];
  limit: string | null; job_tags: string | null; skip_tags: string | null; scm_branch: string | null; job_type: string | null;
  verbosity: number | null; diff_mode: boolean | null; extra_data: Record<string, unknown>; all_parents_must_converge: boolean;
}

export interface BulkLaunch {
  name: string; description: string; organization: number | null; inventory: number | null;
  limit: string; scm_branch: string; job_tags: string; skip_tags: string; extra_vars: string; jobs: BulkNode[];
}

const UNSUPPORTED = ['labels', 'instance_groups', 'execution_environment', 'forks', 'timeout', 'job_slice_count'];
const NODE_KEYS = new Set(['unified_job_template', 'identifier', 'inventory', 'credentials', 'limit', 'job_tags', 'skip_tags', 'scm_branch',
  'job_type', 'verbosity', 'diff_mode', 'extra_data', 'all_parents_must_converge', ...UNSUPPORTED]);
const TEXT_PROMPTS = ['limit', 'job_tags', 'skip_tags', 'scm_branch'] as const;
const TOP_KEYS = new Set(['jobs', 'name', 'description', 'organization', 'inventory', 'limit', 'scm_branch', 'job_tags', 'skip_tags', 'extra_vars']);

/** Prompt → the ask flag of each template kind that takes it. */
const ASK: Record<string, { job_template?: string; workflow_job_template?: string }> = {
  inventory: { job_template: 'ask_inventory_on_launch', workflow_job_template: 'ask_inventory_on_launch' },
  limit: { job_template: 'ask_limit_on_launch', workflow_job_template: 'ask_limit_on_launch' },
  job_tags: { job_template: 'ask_tags_on_launch', workflow_job_template: 'ask_tags_on_launch' },
  skip_tags: { job_template: 'ask_skip_tags_on_launch', workflow_job_template: 'ask_skip_tags_on_launch' },
  scm_branch: { job_template: 'ask_scm_branch_on_launch', workflow_job_template: 'ask_scm_branch_on_launch' },
  job_type: { job_template: 'ask_job_type_on_launch' }, verbosity: { job_template: 'ask_verbosity_on_launch' },
  diff_mode: { job_template: 'ask_diff_mode_on_launch' }, credentials: { job_template: 'ask_credential_on_launch' },
  extra_data: { job_template: 'ask_variables_on_launch', workflow_job_template: 'ask_variables_on_launch' },
};

interface Template { id: number; kind: string; org: number | null; roleType: string; roleId: number; perm: Perm; row: Record<string, unknown> }

async function loadTemplates(db: Queryable, ids: number[]): Promise<Map<number, Template>> {
  const { rows } = await db.query<{ id: string; kind: string; org: string | null; role_id: string; row: Record<string, unknown> }>(
    `SELECT id, 'job_template' AS kind, organization_id AS org, id AS role_id, to_jsonb(t) AS row FROM job_templates t WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, 'workflow_job_template', organization_id, id, to_jsonb(t) FROM workflow_job_templates t WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, 'project', organization_id, id, '{}'::jsonb FROM projects WHERE id = ANY($1::bigint[])
     UNION ALL SELECT s.id, 'inventory_source', i.organization_id, s.inventory_id, '{}'::jsonb FROM inventory_sources s
                 JOIN inventories i ON i.id = s.inventory_id WHERE s.id = ANY($1::bigint[])
     UNION ALL SELECT id, 'system_job_template', NULL, id, '{}'::jsonb FROM system_job_templates WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id, 'workflow_approval_template', NULL, id, '{}'::jsonb FROM workflow_approval_templates WHERE id = ANY($1::bigint[])`, [ids]);
  const roles: Record<string, [string, Perm]> = { job_template: ['job_template', 'execute'], workflow_job_template: ['workflow_job_template', 'execute'],
    project: ['project', 'update'], inventory_source: ['inventory', 'update'] };
  return new Map(rows.map((r) => [Number(r.id), { id: Number(r.id), kind: r.kind, org: r.org == null ? null : Number(r.org),
    roleType: roles[r.kind]?.[0] ?? r.kind, roleId: Number(r.role_id), perm: roles[r.kind]?.[1] ?? 'admin', row: r.row }]));
}

function text(v: unknown, field: string, errors: Record<string, string[]>): string | null {
  if (v == null) return null;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') { errors[field] = ['Not a valid string.']; return null; }
  return v;
}

function parseNode(given: unknown, errors: Record<string, string[]>): BulkNode | undefined {
  if (!given || typeof given !== 'object' || Array.isArray(given)) { errors.non_field_errors = ['Invalid data. Expected a dictionary.']; return undefined; }
  const g = given as Record<string, unknown>;
  for (const k of Object.keys(g)) {
    if (!NODE_KEYS.has(k)) errors[k] = ['Not a field of a bulk job.'];
    else if (UNSUPPORTED.includes(k) && g[k] != null && !(Array.isArray(g[k]) && !(g[k] as unknown[]).length)) {
      errors[k] = ['Playstream does not support this field on a bulk job.'];
    }
  }
  const ujt = parseDrfInteger(g.unified_job_template);
  if (g.unified_job_template == null) errors.unified_job_template = ['This field is required.'];
  else if (ujt === undefined || ujt < 1) errors.unified_job_template = ['A valid integer is required.'];
  const inventory = g.inventory == null ? null : parseDrfInteger(g.inventory);
  if (inventory === undefined) errors.inventory = ['A valid integer is required.'];
  const credentials = g.credentials == null ? [] : Array.isArray(g.credentials) ? g.credentials.map(parseDrfInteger) : undefined;
  if (!credentials || credentials.some((c) => c === undefined)) errors.credentials = ['Expected a list of integers.'];
  const verbosity = g.verbosity == null ? null : parseDrfInteger(g.verbosity);
  if (verbosity === undefined || (verbosity !== null && (verbosity < 0 || verbosity > 5))) errors.verbosity = ['"' + String(g.verbosity) + '" is not a valid choice.'];
  const diff = g.diff_mode == null ? null : parseDrfBoolean(g.diff_mode);
  if (diff === undefined) errors.diff_mode = ['Must be a valid boolean.'];
  const converge = g.all_parents_must_converge == null ? false : parseDrfBoolean(g.all_parents_must_converge);
  if (converge === undefined) errors.all_parents_must_converge = ['Must be a valid boolean.'];
  if (g.job_type != null && g.job_type !== 'run' && g.job_type !== 'check') errors.job_type = [`"${String(g.job_type)}" is not a valid choice.`];
  const extra = g.extra_data ?? {};
  if (typeof extra !== 'object' || Array.isArray(extra)) errors.extra_data = ['Expected a dictionary of variables.'];
  const identifier = text(g.identifier, 'identifier', errors);
  const texts = Object.fromEntries(TEXT_PROMPTS.map((f) => [f, text(g[f], f, errors)]));
  if (Object.keys(errors).length) return undefined;
  return { unified_job_template: ujt!, identifier, inventory: inventory ?? null, credentials: credentials as number[],
    limit: texts.limit, job_tags: texts.job_tags, skip_tags: texts.skip_tags, scm_branch: texts.scm_branch,
    job_type: (g.job_type as string | undefined) ?? null, verbosity: verbosity ?? null, diff_mode: diff ?? null,
    extra_data: extra as Record<string, unknown>, all_parents_must_converge: converge! };
}

/** The prompts a node sets (node's own and the workflow job's), by name. */
function promptsOf(node: BulkNode, top: Record<string, unknown>): string[] {
  const out = Object.keys(top).filter((k) => top[k] != null && top[k] !== '');
  if (node.inventory != null) out.push('inventory');
  if (node.credentials.length) out.push('credentials');
  for (const f of [...TEXT_PROMPTS, 'job_type', 'verbosity', 'diff_mode'] as const) if (node[f] != null) out.push(f);
  if (Object.keys(node.extra_data).length) out.push('extra_data');
  return [...new Set(out)];
}

async function requireAll(db: Queryable, caller: RequestCaller, label: string, sql: string, ids: number[], perm: Perm, roleType: string): Promise<void> {
  if (!ids.length || caller.grants.superuser) return;
  const { rows } = await db.query<{ id: string; org: string | null }>(sql, [ids]);
  const found = new Map(rows.map((r) => [Number(r.id), r.org == null ? null : Number(r.org)]));
  const refused = ids.filter((id) => !found.has(id) || !caller.grants.perms(roleType, id, found.get(id)).has(perm));
  if (refused.length) throw badRequest({ __all__: [`${label} {${refused.join(', ')}} not found or you don't have permissions to access it`] });
}

export async function checkBulkJobs(ctx: ApiContext, caller: RequestCaller, body: Record<string, unknown>, max: number): Promise<BulkLaunch> {
  const unknown = Object.keys(body).filter((k) => !TOP_KEYS.has(k));
  if (unknown.length) throw badRequest(Object.fromEntries(unknown.map((k) => [k, ['Not a field of a bulk job launch.']])));
  if (!Array.isArray(body.jobs)) throw badRequest({ jobs: [body.jobs == null ? 'This field is required.' : 'Expected a list of items.'] });
  if (!body.jobs.length) throw badRequest({ jobs: ['This list may not be empty.'] });
  if (body.jobs.length > max) throw badRequest({ __all__: ['Number of requested jobs exceeds system setting BULK_JOB_MAX_LAUNCH'] });
  const topErrors: Record<string, string[]> = {};
  const top = Object.fromEntries(TEXT_PROMPTS.map((f) => [f, text(body[f], f, topErrors)]));
  const name = text(body.name, 'name', topErrors) ?? 'Bulk Job Launch';
  if (name.length > 512) topErrors.name = ['Ensure this field has no more than 512 characters.'];
  const description = text(body.description, 'description', topErrors) ?? '';
  const inventory = body.inventory == null ? null : parseDrfInteger(body.inventory);
  if (inventory === undefined) topErrors.inventory = ['Incorrect type. Expected pk value.'];
  const organization = body.organization == null || body.organization === '' ? null : parseDrfInteger(body.organization);
  if (organization === undefined) topErrors.organization = ['Incorrect type. Expected pk value.'];
  let extraVars = body.extra_vars ?? {};
  if (typeof extraVars === 'string') {
    try { extraVars = extraVars.trim() ? JSON.parse(extraVars) : {}; } catch { topErrors.extra_vars = ['Must be a JSON object of variables.']; }
  }
  if (!extraVars || typeof extraVars !== 'object' || Array.isArray(extraVars)) topErrors.extra_vars = ['Must be a JSON object of variables.'];
  if (Object.keys(topErrors).length) throw badRequest(topErrors);

  const nodeErrors: Record<string, string[]>[] = [];
  const jobs: BulkNode[] = [];
  for (const given of body.jobs) {
    const errors: Record<string, string[]> = {};
    const node = parseNode(given, errors);
    nodeErrors.push(errors);
    if (node) jobs.push(node);
  }
  if (nodeErrors.some((e) => Object.keys(e).length)) throw badRequest({ jobs: nodeErrors });
  const identifiers = jobs.map((j) => j.identifier).filter((i): i is string => i !== null);
  const repeated = identifiers.find((id, i) => identifiers.indexOf(id) !== i);
  if (repeated !== undefined) throw badRequest({ __all__: [`Identifier ${repeated} not unique`] });

  const templates = await loadTemplates(ctx.pool, [...new Set(jobs.map((j) => j.unified_job_template))]);
  const kinds = new Set([...templates.values()].map((t) => t.kind).filter((k) => k === 'system_job_template' || k === 'workflow_approval_template'));
  if (kinds.size) throw badRequest({ __all__: [`Template types ${[...kinds].map((k) => k.replace(/_/g, ' ')).join(' ')} not allowed in bulk jobs`] });
  const missing = jobs.map((j) => j.unified_job_template).filter((id) => !templates.has(id)
    || (!caller.grants.superuser && !caller.grants.perms(templates.get(id)!.roleType, templates.get(id)!.roleId, templates.get(id)!.org).has(templates.get(id)!.perm)));
  if (missing.length) throw badRequest({ __all__: [`Unified Job Templates {${[...new Set(missing)].join(', ')}} not found or you don't have permissions to access it`] });

  const topPrompts: Record<string, unknown> = { ...top, inventory };
  const promptErrors = jobs.map((job) => {
    const t = templates.get(job.unified_job_template)!;
    const errors: Record<string, string[]> = {};
    for (const p of promptsOf(job, topPrompts)) {
      const flag = ASK[p]?.[t.kind as 'job_template' | 'workflow_job_template'];
      if (!flag || !t.row[flag]) errors[p] = [flag ? 'Field is not configured to prompt on launch.' : `A ${t.kind.replace(/_/g, ' ')} takes no ${p}.`];
    }
    return errors;
  });
  if (promptErrors.some((e) => Object.keys(e).length)) throw badRequest({ jobs: promptErrors });

  const orgId = await launchOrganization(ctx, caller, organization ?? null);
  const inventories = [...new Set([...jobs.map((j) => j.inventory).filter((i): i is number => i !== null), ...(inventory != null ? [inventory] : [])])];
  await requireAll(ctx.pool, caller, 'Inventories', 'SELECT id, organization_id AS org FROM inventories WHERE id = ANY($1::bigint[])', inventories, 'use', 'inventory');
  await requireAll(ctx.pool, caller, 'Credentials', 'SELECT id, organization_id AS org FROM credentials WHERE id = ANY($1::bigint[])',
    [...new Set(jobs.flatMap((j) => j.credentials))], 'use', 'credential');
  return { name, description, organization: orgId, inventory: inventory ?? null, limit: top.limit ?? '', scm_branch: top.scm_branch ?? '',
    job_tags: top.job_tags ?? '', skip_tags: top.skip_tags ?? '', extra_vars: Object.keys(extraVars as object).length ? JSON.stringify(extraVars) : '', jobs };
}

/** AWX's check_organization_permission: the given organization must be one the caller is a member of; by default their only one. */
async function launchOrganization(ctx: ApiContext, caller: RequestCaller, given: number | null): Promise<number | null> {
  if (caller.grants.superuser) {
    if (given === null) return null;
    const { rowCount } = await ctx.pool.query('SELECT 1 FROM organizations WHERE id = $1', [given]);
    if (!rowCount) throw badRequest({ organization: [`Invalid pk "${given}" - object does not exist.`] });
    return given;
  }
  const member = caller.grants.ids('organization', 'member');
  if (given !== null) {
    if (!member.includes(given)) throw badRequest({ __all__: [`Organization ${given} not found or you don't have permissions to access it`] });
    return given;
  }
  if (member.length === 1) return member[0];
  throw badRequest({ __all__: [member.length ? 'User has permission to multiple Organizations, please set one of them in the request'
    : 'User not part of any organization, please assign an organization to assign to the bulk job'] });
}

/** The workflow job's nodes: roots all, no edges, each with its prompts and credentials. */
export async function bulkJobNodes(db: Queryable, workflowJobId: number, jobs: BulkNode[]): Promise<void> {
  const identifiers = jobs.map((j) => j.identifier ?? crypto.randomUUID());
  const { rows } = await db.query<{ id: string; identifier: string }>(
    `INSERT INTO workflow_job_nodes (workflow_job_id, unified_job_template_id, identifier, all_parents_must_converge, inventory_id,
       "limit", job_tags, skip_tags, scm_branch, job_type, verbosity, diff_mode, extra_data)
     SELECT $1, ujt, ident, conv, inv, lim, jt, st, br, ty, vb, df, ed FROM unnest($2::bigint[], $3::text[], $4::boolean[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[],
       $10::text[], $11::int[], $12::boolean[], $13::jsonb[]) WITH ORDINALITY AS n(ujt, ident, conv, inv, lim, jt, st, br, ty, vb, df, ed, ord)
     ORDER BY ord RETURNING id, identifier`,
    [workflowJobId, jobs.map((j) => j.unified_job_template), identifiers,
      jobs.map((j) => j.all_parents_must_converge), jobs.map((j) => j.inventory), jobs.map((j) => j.limit), jobs.map((j) => j.job_tags),
      jobs.map((j) => j.skip_tags), jobs.map((j) => j.scm_branch), jobs.map((j) => j.job_type), jobs.map((j) => j.verbosity),
      jobs.map((j) => j.diff_mode), jobs.map((j) => JSON.stringify(j.extra_data))]);
  const nodeOf = new Map(rows.map((r) => [r.identifier, Number(r.id)]));
  const pairs = jobs.flatMap((j, i) => j.credentials.map((c) => [nodeOf.get(identifiers[i])!, c]));
  if (pairs.length) {
    await db.query('INSERT INTO workflow_job_node_credentials (node_id, credential_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])',
      [pairs.map((p) => p[0]), pairs.map((p) => p[1])]);
  }
}
