import { RRULE_MAX_LENGTH, RruleError, parseRrule, previewOccurrences, rruleTimezone, rruleUntil, scheduleTimes,
  type RruleSet } from '../../scheduler/rrule/index.js';
import { requireLinks } from '../access.js';
import { mayCreate } from '../engine/permissions.js';
import { defineResource, type Row } from '../engine/resource.js';
import { badRequest, forbidden } from '../http.js';
import { maskSecretFields, sealSecretValue, type SecretBox } from '../../security/secrets.js';
import { bool, fk, int, named, ro, text, base } from './common.js';
import { prepareSchedulePrompts, schedulePromptFields } from './schedule-prompts.js';
import { messagesProblems } from '../../scheduler/notification-messages.js';

/** Instances, instance groups, labels, schedules, notification templates and notifications. */
export { instances } from './instances.js';

export const instanceGroups = defineResource({
  key: 'instance_groups', type: 'instance_group', table: 'instance_groups',
  fields: {
    ...base, name: text({ required: true }), is_container_group: ro('bool'), policy_instance_percentage: int(),
    policy_instance_minimum: int(), policy_instance_list: { type: 'json', writable: true }, max_concurrent_jobs: int(), max_forks: int(),
    capacity: ro('int', { col: '(SELECT coalesce(sum(i.capacity), 0) FROM instance_group_instances gi JOIN instances i ON i.id = gi.instance_id WHERE gi.instance_group_id = t.id)::int' }),
    instances: ro('int', { col: '(SELECT count(*) FROM instance_group_instances gi WHERE gi.instance_group_id = t.id)::int' }),
    jobs_running: ro('int', { col: `(SELECT count(*) FROM unified_jobs j WHERE j.instance_group_id = t.id AND j.status IN ('waiting', 'running'))::int` }),
  },
  search: ['name'], namedUrl: ['name'], summary: ['id', 'name', 'is_container_group'],
  unsupported: Object.fromEntries(['is_container_group', 'credential', 'pod_spec_override'].map((f) =>
    [f, 'container groups need a Kubernetes cluster, which Playstream does not run jobs on'])),
  access: { roleType: 'instance_group', public: true, orgExpr: null },
  // use_role is what attaching the group to an organization, inventory or template needs (access.ts LINKS); superusers grant it.
  objectRoles: ['admin_role', 'use_role', 'read_role'],
  related: (r) => ({ jobs: `/api/v2/instance_groups/${r.id}/jobs/`, instances: `/api/v2/instance_groups/${r.id}/instances/` }),
});

export const labels = defineResource({
  key: 'labels', type: 'label', table: 'labels',
  fields: { ...base, name: text({ required: true, maxLength: 512 }), organization: fk('organizations', { required: true }) },
  search: ['name'], namedUrl: ['name', 'organization.name'], summary: ['id', 'name'], noDelete: true,
  access: { roleType: 'label', canCreate: (_c, g, d) => g.memberOrgs().includes(d.organization as number) },
});

/** Templates of the four kinds, for `/unified_job_templates/` (the schedule module looks templates up here). */
export const unifiedJobTemplates = defineResource({
  key: 'unified_job_templates', type: 'unified_job_template',
  table: `(SELECT id, name, description, organization_id, 'job_template' AS kind, status, last_job_run, last_job_failed, created, modified FROM job_templates
           UNION ALL SELECT id, name, description, organization_id, 'project', status, last_job_run, last_job_failed, created, modified FROM projects
           UNION ALL SELECT s.id, s.name, s.description, i.organization_id, 'inventory_source', s.status, s.last_job_run, s.last_job_failed, s.created, s.modified
                       FROM inventory_sources s JOIN inventories i ON i.id = s.inventory_id
           UNION ALL SELECT id, name, description, NULL, 'system_job_template', status, last_job_run, last_job_failed, created, modified FROM system_job_templates
           UNION ALL SELECT id, name, description, organization_id, 'workflow_job_template', status, last_job_run, last_job_failed, created, modified FROM workflow_job_templates)`,
  fields: { ...base, name: ro('text'), description: ro('text'), organization: ro('int', { fk: 'organizations' }), type: ro('text', { col: 't.kind' }),
    status: ro('text'), last_job_run: ro('time'), last_job_failed: ro('bool') },
  search: ['name', 'description'], readOnly: true, noDelete: true,
  access: { roleType: 'job_template', readSql: (g, p) => `(t.id = ANY(${p.push([...g.ids('job_template', 'read'), ...g.ids('project', 'read'), ...g.ids('workflow_job_template', 'read')])}::bigint[])
    OR t.organization_id = ANY(${p.push([...new Set([...g.orgs('job_template', 'read'), ...g.orgs('project', 'read'), ...g.orgs('workflow_job_template', 'read')])])}::bigint[]))` },
  present: (row, out) => {
    out.type = row.type;
    const path = { job_template: 'job_templates', project: 'projects', inventory_source: 'inventory_sources', system_job_template: 'system_job_templates',
      workflow_job_template: 'workflow_job_templates' }[row.type as string];
    out.url = `/api/v2/${path}/${row.id}/`;
  },
});

export const systemJobTemplates = defineResource({
  key: 'system_job_templates', type: 'system_job_template', table: 'system_job_templates',
  fields: { ...named, job_type: ro('text'), status: ro('text'), last_job_run: ro('time'), last_job_failed: ro('bool') },
  search: ['name'], readOnly: true, noDelete: true,
  access: { roleType: 'system_job_template', superOnly: true, orgExpr: null },
  related: (r) => ({ launch: `/api/v2/system_job_templates/${r.id}/launch/`, jobs: `/api/v2/system_job_templates/${r.id}/jobs/`,
    schedules: `/api/v2/system_job_templates/${r.id}/schedules/` }),
});

/** An RruleError as AWX's 400: `{"rrule": [problems]}`; anything else is rethrown. */
function rruleBadRequest(err: unknown): never {
  if (err instanceof RruleError) throw badRequest({ rrule: err.problems });
  throw err;
}

function parseRequestRrule(rrule: unknown): RruleSet {
  try { return parseRrule(rrule); } catch (err) { return rruleBadRequest(err); }
}

/** `schedules/preview/`: the next ten occurrences after now, in DTSTART's zone and in UTC; a bad or too costly rule is a 400. */
export function previewSchedule(rrule: unknown, now = new Date()): { local: string[]; utc: string[] } {
  const set = parseRequestRrule(rrule);
  try { return previewOccurrences(set, now); } catch (err) { return rruleBadRequest(err); }
}

/** dtstart, dtend and next_run of a rule (AWX's computed fields; next_run null while disabled). */
function scheduleFields(rrule: unknown, enabled: boolean): Row {
  const set = parseRequestRrule(rrule);
  try {
    const { dtstart, dtend, nextRun } = scheduleTimes(set, new Date());
    return { dtstart, dtend, next_run: enabled ? nextRun : null };
  } catch (err) {
    return rruleBadRequest(err);
  }
}

/** The right that starts a template, by the role type its roles are held on (system job templates: superusers). */
const START_PERM: Record<string, 'execute' | 'update'> = { job_template: 'execute', workflow_job_template: 'execute', project: 'update', inventory: 'update' };

export const schedules = defineResource({
  key: 'schedules', type: 'schedule', table: 'schedules',
  fields: {
    ...named, unified_job_template: fk('unified_job_templates', { required: true }),
    rrule: text({ required: true, maxLength: RRULE_MAX_LENGTH }), enabled: bool(),
    dtstart: ro('time'), dtend: ro('time'), next_run: ro('time'), extra_data: { type: 'json', writable: true },
    ...schedulePromptFields,
    // Computed from the rrule in `present`; the columns only give filters something to read.
    timezone: ro('text', { col: `''` }), until: ro('text', { col: `''` }),
    created_by: ro('int', { fk: 'users' }),
  },
  search: ['name', 'description'],
  // ScheduleAccess: the template's read role reads its schedules; its admin, or the creator
  // while they may still start it, changes them; starting it creates them. Roles are held
  // where its kind holds them (migration 1001 unified_template_role).
  access: { roleType: 'job_template',
    idExpr: '(SELECT r.role_id FROM unified_template_role(t.unified_job_template_id) r)',
    orgExpr: '(SELECT r.org FROM unified_template_role(t.unified_job_template_id) r)',
    rowRoleType: (row) => String(row._arole ?? 'system_job_template'),
    readSql: (g, p) => {
      const byKind = ['job_template', 'workflow_job_template', 'project', 'inventory'].map((k) =>
        `(r.role_type = '${k}' AND (r.role_id = ANY(${p.push(g.ids(k, 'read'))}::bigint[]) OR r.org = ANY(${p.push(g.orgs(k, 'read'))}::bigint[])))`);
      return `EXISTS (SELECT 1 FROM unified_template_role(t.unified_job_template_id) r WHERE ${byKind.join(' OR ')})`;
    },
    rowAdmin: (g, row) => {
      if (g.superuser) return true;
      const role = String(row._arole ?? 'system_job_template');
      const perms = g.perms(role, row._aid as number | null, row._aorg as number | null);
      const start = START_PERM[role];
      return perms.has('admin') || (row.created_by != null && Number(row.created_by) === g.user.id && !!start && perms.has(start));
    },
    canCreate: async (ctx, g, d) => {
      const { rows } = await ctx.pool.query('SELECT role_type, role_id, org FROM unified_template_role($1)', [d.unified_job_template]);
      const start = rows[0] && START_PERM[rows[0].role_type];
      return !!start && g.perms(rows[0].role_type, rows[0].role_id, rows[0].org).has(start);
    } },
  accessSelect: `(SELECT r.role_type FROM unified_template_role(t.unified_job_template_id) r) AS "_arole"`,
  related: (r) => ({ unified_job_template: `/api/v2/unified_job_templates/${r.unified_job_template}/`, preview: `/api/v2/schedules/preview/`,
    credentials: `/api/v2/schedules/${r.id}/credentials/`, labels: `/api/v2/schedules/${r.id}/labels/`,
    instance_groups: `/api/v2/schedules/${r.id}/instance_groups/`, unified_jobs: `/api/v2/schedules/${r.id}/jobs/`,
    ...(r.inventory ? { inventory: `/api/v2/inventories/${r.inventory}/` } : {}) }),
  present: (row, out) => {
    try {
      const set = parseRrule(row.rrule);
      out.timezone = rruleTimezone(set);
      out.until = rruleUntil(set);
    } catch {
      out.timezone = '';
      out.until = '';
    }
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    // The caller's right to schedule the template is checked before the rrule is evaluated
    // (the engine checks create rights only after prepare): evaluating costs up to a step
    // budget of CPU, and a hostile rule from a caller without rights is a 403, not a 400.
    // Moving a schedule to another template needs the same right on the new one.
    await requireLinks(ctx.pool, caller.grants, 'schedule', data, existing);
    const retargeted = existing && data.unified_job_template !== undefined && data.unified_job_template !== existing.unified_job_template;
    if ((!existing || retargeted) && !(await mayCreate(ctx, schedules, caller.grants, { ...existing, ...data }))) throw forbidden();
    if (!existing) data.created_by = caller.user.id;
    const enabled = (data.enabled ?? existing?.enabled ?? true) as boolean;
    if (data.rrule !== undefined) Object.assign(data, scheduleFields(data.rrule, enabled));
    // Disabling never evaluates, so a schedule whose stored rule is refused can still be turned off.
    else if (data.enabled === false) data.next_run = null;
    else if (data.enabled === true) data.next_run = scheduleFields(existing?.rrule, true).next_run;
    if (data.extra_data !== undefined && (typeof data.extra_data !== 'object' || Array.isArray(data.extra_data))) data.extra_data = {};
    return prepareSchedulePrompts(ctx.pool, data, existing);
  },
});
schedules.fields.next_run = { type: 'time', writable: false, col: 't."next_run"' };
schedules.fields.launch_prompts = { type: 'json', writeOnly: true, col: 't."launch_prompts"' };

/**
 * The secret fields of each notification type: AWX's `init_parameters` of type password
 * (email and irc `password`, slack and pagerduty `token`, twilio `account_token`, grafana
 * `grafana_key`, webhook `password`). The names every type once masked stay masked whatever
 * the type, since the configuration takes any key.
 *
 * Webhook `headers`, which AWX keeps in clear, often carry API keys and bearer tokens (issue
 * #12): a header whose name says it carries a credential (Authorization, Cookie, X-Api-Key,
 * X-Auth-Token, ...: SECRET_HEADER) is a secret, encrypted and masked like a password;
 * other headers (X-Test, Content-Type) stay as AWX shows them, so a client such as awx.awx
 * can still compare a configuration it wrote with what it reads back.
 */
const NOTIFICATION_SECRETS_BY_TYPE: Record<string, string[]> = {
  email: ['password'], irc: ['password'], slack: ['token'], pagerduty: ['token'], twilio: ['account_token'],
  grafana: ['grafana_key'], webhook: ['password'], mattermost: [], rocketchat: [],
};
const ANY_TYPE_SECRETS = ['password', 'token', 'account_token', 'service_key', 'api_key'];

const SECRET_HEADER = /auth|token|key|secret|pass|cookie|session|signature|credential|bearer|jwt/i;

function notificationSecretFields(type: unknown): string[] {
  return [...new Set([...(NOTIFICATION_SECRETS_BY_TYPE[String(type)] ?? []), ...ANY_TYPE_SECRETS])];
}

/** A notification configuration as the API and the activity stream show it: secrets (and secret headers) masked. */
function maskNotificationConfiguration(conf: Row, type: unknown): Row {
  const out = maskSecretFields(conf, notificationSecretFields(type));
  if (out.headers && typeof out.headers === 'object' && !Array.isArray(out.headers)) {
    out.headers = maskSecretFields(out.headers as Row, Object.keys(out.headers as Row).filter((h) => SECRET_HEADER.test(h)));
  }
  return out;
}

/** Seals the configuration's secret fields and secret headers; "$encrypted$" sent back keeps the stored value. */
function sealNotificationConfiguration(box: SecretBox, conf: Row, stored: Row, type: unknown): Row {
  const out = { ...conf };
  for (const k of notificationSecretFields(type)) if (out[k] !== undefined) out[k] = sealSecretValue(box, out[k], stored[k]);
  if (out.headers && typeof out.headers === 'object' && !Array.isArray(out.headers)) {
    const before = (stored.headers && typeof stored.headers === 'object' ? stored.headers : {}) as Row;
    out.headers = Object.fromEntries(Object.entries(out.headers as Row)
      .map(([h, v]) => [h, SECRET_HEADER.test(h) ? sealSecretValue(box, v, before[h]) : v]));
  }
  return out;
}

export const notificationTemplates = defineResource({
  key: 'notification_templates', type: 'notification_template', table: 'notification_templates',
  fields: {
    ...named, organization: fk('organizations', { required: true }),
    notification_type: text({ required: true, choices: ['email', 'slack', 'webhook', 'twilio', 'pagerduty', 'grafana', 'irc', 'mattermost', 'rocketchat'] }),
    notification_configuration: { type: 'json', writable: true }, messages: { type: 'json', writable: true },
  },
  search: ['name', 'description'], namedUrl: ['name', 'organization.name'],
  access: { roleType: 'notification_template' },
  related: (r) => ({ test: `/api/v2/notification_templates/${r.id}/test/`, notifications: `/api/v2/notification_templates/${r.id}/notifications/`,
    copy: `/api/v2/notification_templates/${r.id}/copy/` }),
  present: (row, out) => {
    out.notification_configuration = maskNotificationConfiguration((row.notification_configuration ?? {}) as Row, row.notification_type);
  },
  activityMask: async (_db, values, whole) => {
    const conf = values.notification_configuration;
    if (!conf || typeof conf !== 'object' || Array.isArray(conf)) return values;
    return { ...values, notification_configuration: maskNotificationConfiguration(conf as Row, whole.notification_type) };
  },
  prepare: async (ctx, db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'notification_template', data, existing);
    const type = data.notification_type ?? existing?.notification_type;
    if (data.notification_configuration !== undefined) {
      const stored = (existing?.id ? (await db.query('SELECT notification_configuration FROM notification_templates WHERE id = $1', [existing.id])).rows[0]?.notification_configuration : {}) ?? {};
      data.notification_configuration = sealNotificationConfiguration(ctx.secrets, { ...(data.notification_configuration as Row ?? {}) }, stored, type);
    } else if (existing && data.notification_type !== undefined && data.notification_type !== existing.notification_type) {
      // A new type may make secret what the old one kept in clear.
      const { rows } = await db.query('SELECT notification_configuration FROM notification_templates WHERE id = $1', [existing.id]);
      const conf = { ...(rows[0]?.notification_configuration ?? {}) };
      data.notification_configuration = sealNotificationConfiguration(ctx.secrets, conf, conf, type);
    }
    if (!existing && data.notification_configuration === undefined) data.notification_configuration = {};
    if (data.messages === undefined && !existing) data.messages = null;
    if (data.messages !== undefined || (existing && data.notification_type !== undefined)) {
      const problems = messagesProblems(data.messages !== undefined ? data.messages : existing?.messages, String(type ?? ''));
      if (problems.length) throw badRequest({ messages: problems });
    }
    return data;
  },
});

export const notifications = defineResource({
  key: 'notifications', type: 'notification', table: 'notifications',
  fields: {
    ...base, notification_template: ro('int', { fk: 'notification_templates' }), status: ro('text'), error: ro('text'),
    notifications_sent: ro('int'), notification_type: ro('text'), recipients: ro('text'), subject: ro('text'), body: ro('json'),
  },
  search: ['subject'], readOnly: true, noDelete: true,
  access: { roleType: 'notification_template', idExpr: 't.notification_template_id',
    orgExpr: '(SELECT n.organization_id FROM notification_templates n WHERE n.id = t.notification_template_id)' },
});
void ro;
