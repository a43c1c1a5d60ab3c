import crypto from 'node:crypto';
import { requireLink, requireLinks } from '../access.js';
import { prepared } from '../../db/prepared.js';
import { defineResource, type Row } from '../engine/resource.js';
import { badRequest } from '../http.js';
import { bool, fk, grantRole, int, named, ro, text, varsText } from './common.js';
import { playbookInProject } from './confined-paths.js';
import { requireEnvironmentRead } from './execution-environments.js';

/** Job templates: every AWX field, its `ask_*_on_launch` prompts, and the survey. */
export const ASK_FIELDS = ['ask_scm_branch_on_launch', 'ask_diff_mode_on_launch', 'ask_variables_on_launch', 'ask_limit_on_launch',
  'ask_tags_on_launch', 'ask_skip_tags_on_launch', 'ask_job_type_on_launch', 'ask_verbosity_on_launch', 'ask_inventory_on_launch',
  'ask_credential_on_launch', 'ask_execution_environment_on_launch', 'ask_labels_on_launch', 'ask_forks_on_launch',
  'ask_job_slice_count_on_launch', 'ask_timeout_on_launch', 'ask_instance_groups_on_launch'] as const;

/** Fields a template admin may change without use of its project and inventory (AWX's changes_are_non_sensitive). */
const NON_SENSITIVE = new Set(['name', 'description', 'forks', 'limit', 'verbosity', 'extra_vars', 'job_tags', 'skip_tags',
  'ask_variables_on_launch', 'ask_tags_on_launch', 'ask_job_type_on_launch', 'ask_skip_tags_on_launch', 'ask_inventory_on_launch',
  'ask_credential_on_launch', 'survey_enabled', 'diff_mode', 'timeout', 'job_slice_count', 'organization']);

function changesAreSensitive(data: Row, existing: Row): boolean {
  return Object.keys(data).some((k) => !NON_SENSITIVE.has(k) && JSON.stringify(data[k] ?? null) !== JSON.stringify(existing[k] ?? null));
}

/** A webhook key as AWX makes them: 50 random letters and digits. */
export function newWebhookKey(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(crypto.randomBytes(50), (b) => alphabet[b % alphabet.length]).join('');
}

export const jobTemplates = defineResource({
  key: 'job_templates', type: 'job_template', table: 'job_templates',
  fields: {
    ...named,
    organization: fk('organizations'),
    job_type: text({ choices: ['run', 'check'] }), inventory: fk('inventories'), project: fk('projects'), playbook: text(),
    scm_branch: text(), forks: int(), limit: text(), verbosity: int(), extra_vars: text(), job_tags: text(), skip_tags: text(),
    start_at_task: text(), timeout: int(), use_fact_cache: bool(), force_handlers: bool(), host_config_key: text(), become_enabled: bool(),
    diff_mode: bool(), allow_simultaneous: bool(), job_slice_count: int(), survey_enabled: bool(),
    ...Object.fromEntries(ASK_FIELDS.map((f) => [f, bool()])),
    prevent_instance_group_fallback: bool(),
    execution_environment: fk('execution_environments'),
    webhook_service: text({ choices: ['', 'github', 'gitlab'] }),
    webhook_credential: { type: 'int', col: 'NULL::bigint', writable: true, nullAs: null },
    webhook_key: { type: 'text', writeOnly: true },
    status: ro('text'), last_job_run: ro('time'), last_job_failed: ro('bool'), last_job: ro('int', { col: 't.last_job_id' }),
    next_job_run: ro('time', { col: '(SELECT min(s.next_run) FROM schedules s WHERE s.unified_job_template_id = t.id AND s.enabled)' }),
  },
  search: ['name', 'description', 'playbook'],
  namedUrl: ['name', 'organization.name'],
  access: {
    roleType: 'job_template',
    // AWX's JobTemplateAccess.can_add is its links alone (use of the project, and of the
    // inventory when given), which prepare checks before anything else. Asked without data
    // (OPTIONS: may this user create here at all?), it is whether some project may be used.
    canCreate: async (ctx, g, data) => Object.keys(data).length > 0 || g.ids('project', 'use').length > 0
      || (await ctx.pool.query('SELECT 1 FROM projects WHERE organization_id = ANY($1::bigint[]) LIMIT 1', [g.orgs('project', 'use')])).rowCount! > 0,
  },
  objectRoles: ['admin_role', 'execute_role', 'read_role'],
  related: (r) => {
    const u = `/api/v2/job_templates/${r.id}/`;
    return Object.fromEntries(['launch', 'jobs', 'schedules', 'activity_stream', 'survey_spec', 'credentials', 'labels',
      'instance_groups', 'notification_templates_started', 'notification_templates_success', 'notification_templates_error',
      'access_list', 'object_roles', 'copy', 'callback', 'webhook_key', 'webhook_receiver', 'slice_workflow_jobs']
      .map((k) => [k, `${u}${k}/`]));
  },
  extraSummary: async (ctx, rows) => {
    const ids = rows.map((r) => r.id);
    const [creds, labels, recent] = await Promise.all([
      ctx.pool.query(prepared(`SELECT jc.job_template_id, c.id, c.name, c.description, ct.kind, false AS cloud
                        FROM job_template_credentials jc JOIN credentials c ON c.id = jc.credential_id
                        JOIN credential_types ct ON ct.id = c.credential_type_id
                       WHERE jc.job_template_id = ANY($1::bigint[]) ORDER BY c.id`, [ids])),
      ctx.pool.query(prepared(`SELECT jl.job_template_id, l.id, l.name FROM job_template_labels jl JOIN labels l ON l.id = jl.label_id
                       WHERE jl.job_template_id = ANY($1::bigint[]) ORDER BY l.name`, [ids])),
      // Each template's ten newest jobs, read backwards from (kind, template, id): the cost
      // is ten index entries per template however many jobs it ran.
      ctx.pool.query(prepared(`SELECT jt, j.id, j.status, j.finished, 'job' AS type
                        FROM unnest($1::bigint[]) jt CROSS JOIN LATERAL (
                          SELECT id, status, finished FROM unified_jobs
                           WHERE kind = 'job' AND unified_job_template_id = jt ORDER BY id DESC LIMIT 10) j`, [ids])),
    ]);
    for (const r of rows) {
      const s = r.summary_fields as Row;
      s.credentials = creds.rows.filter((c) => c.job_template_id === r.id).map(({ job_template_id: _j, ...c }) => c);
      const l = labels.rows.filter((x) => x.job_template_id === r.id).map(({ job_template_id: _j, ...x }) => x);
      s.labels = { count: l.length, results: l };
      s.recent_jobs = recent.rows.filter((j) => j.jt === r.id).map(({ jt: _j, ...j }) => j);
      if (r.last_job) s.last_job = recent.rows.find((j) => j.id === r.last_job) ?? { id: r.last_job };
    }
  },
  present: (row, out) => {
    out.survey_enabled = row.survey_enabled;
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    if (!existing && !data.project) throw badRequest({ project: ['This field is required.'] });
    if (!existing && !data.playbook) throw badRequest({ playbook: ['This field is required.'] });
    await requireLinks(ctx.pool, caller.grants, 'job_template', data, existing);
    if (existing && changesAreSensitive(data, existing)) {
      // AWX's can_change with mandatory links: whoever changes what a template runs (its
      // playbook, job type, credentials...) must be able to use the project and inventory it
      // runs with, not only administer the template.
      if (existing.project != null) await requireLink(ctx.pool, caller.grants, 'job_template', 'project', [Number(existing.project)]);
      if (existing.inventory != null) await requireLink(ctx.pool, caller.grants, 'job_template', 'inventory', [Number(existing.inventory)]);
    }
    // The organization is the project's, as AWX's JobTemplate.save sets it (a template left
    // without a project keeps the one it had).
    const projectId = (data.project !== undefined ? data.project : existing?.project) as number | null | undefined;
    if (projectId != null) {
      data.organization = (await ctx.pool.query('SELECT organization_id FROM projects WHERE id = $1', [projectId])).rows[0]?.organization_id ?? null;
    } else {
      delete data.organization;
    }
    // A branch other than the project's needs the project to allow it (AWX's JobOptionsSerializer.validate).
    const branch = (data.scm_branch !== undefined ? data.scm_branch : existing?.scm_branch) as string | undefined;
    const askBranch = (data.ask_scm_branch_on_launch !== undefined ? data.ask_scm_branch_on_launch : existing?.ask_scm_branch_on_launch) as boolean | undefined;
    if ((branch || askBranch) && projectId != null) {
      const { rows: [p] } = await ctx.pool.query('SELECT allow_override FROM projects WHERE id = $1', [projectId]);
      if (p && !p.allow_override) throw badRequest({ [branch ? 'scm_branch' : 'ask_scm_branch_on_launch']: ['Project does not allow overriding branch.'] });
    }
    // A playbook is a file of the project's checkout: checked when either changes.
    const playbook = (data.playbook ?? (data.project !== undefined ? existing?.playbook : undefined)) as string | undefined;
    if (playbook && projectId != null) await playbookInProject(ctx, projectId, playbook);
    if (data.extra_vars !== undefined) data.extra_vars = varsText('extra_vars', data.extra_vars);
    // JobTemplateAccess: an execution environment the caller can read.
    await requireEnvironmentRead(ctx.pool, caller.grants, 'execution_environment', data.execution_environment, existing?.execution_environment);
    // The webhook credential posts job status back to the forge, which Playstream does not do: refused, not dropped.
    if (data.webhook_credential != null) throw badRequest({ webhook_credential: ['Reporting job status to GitHub or GitLab is not supported by Playstream.'] });
    delete data.webhook_credential;
    // A template listening to a service has a key (routes/webhooks.ts); a new service gets a new one, none none.
    if (data.webhook_service !== undefined && data.webhook_service !== (existing?.webhook_service ?? '')) {
      data.webhook_key = data.webhook_service ? ctx.secrets.encrypt(newWebhookKey()) : '';
    }
    return data;
  },
  afterCreate: async (_ctx, db, id, _data, caller) => {
    if (!caller.grants.superuser) await grantRole(db, 'job_template', id, 'admin_role', caller.user.id);
  },
});
