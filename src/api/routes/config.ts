import { version } from '../../paths.js';
import { forgetBasicAuthSetting, requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { forbidden, jsonBody, notFound, type Router } from '../http.js';
import { parseShowPaths } from '../../scheduler/sandbox/show-paths.js';
import { taskEnvProblem } from '../../scheduler/sandbox/env.js';
import { recordActivity } from '../../db/activity.js';
import { parseDrfBoolean, parseDrfInteger } from '../engine/drf-values.js';
import { OPEN_LICENSE } from './license.js';
import { oauth2SettingProblem } from '../token-issue.js';
import { LDAP_SETTING_DEFAULTS, ldapSettingProblem, SECRET_LDAP_SETTINGS } from '../../security/ldap/settings.js';
import { ENCRYPTED_PLACEHOLDER } from '../../security/secrets.js';

/**
 * /api/, /api/v2/ (the resource index), /config/, /settings/ and /dashboard/. Settings are
 * AWX's categories (`system`, `jobs`, `authentication`, ...), defaults below, overrides in
 * api_settings; `all` merges them.
 */
const RESOURCES = ['ping', 'instances', 'instance_groups', 'config', 'settings', 'me', 'dashboard', 'organizations', 'users',
  'teams', 'credentials', 'credential_types', 'credential_input_sources', 'inventory', 'constructed_inventories', 'hosts', 'groups', 'inventory_sources', 'inventory_updates',
  'projects', 'project_updates', 'job_templates', 'jobs', 'job_events', 'ad_hoc_commands', 'system_job_templates',
  'system_jobs', 'schedules', 'roles', 'notification_templates', 'notifications', 'labels', 'unified_job_templates',
  'unified_jobs', 'activity_stream', 'tokens', 'applications', 'execution_environments', 'bulk', 'metrics'];

export const SETTING_DEFAULTS: Record<string, Record<string, unknown>> = {
  system: { ACTIVITY_STREAM_ENABLED: true, ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC: false, ORG_ADMINS_CAN_SEE_ALL_USERS: true,
    MANAGE_ORGANIZATION_AUTH: true, TOWER_URL_BASE: 'http://127.0.0.1:8013', REMOTE_HOST_HEADERS: ['REMOTE_ADDR', 'REMOTE_HOST'],
    PROXY_IP_ALLOWED_LIST: [], INSTALL_UUID: '00000000-0000-0000-0000-000000000000', DEFAULT_EXECUTION_ENVIRONMENT: null,
    CUSTOM_VENV_PATHS: [], AUTOMATION_ANALYTICS_URL: '' },
  jobs: { AD_HOC_COMMANDS: ['command', 'shell', 'yum', 'apt', 'apt_key', 'apt_repository', 'apt_rpm', 'service', 'group', 'user',
    'mount', 'ping', 'selinux', 'setup', 'win_ping', 'win_service', 'win_updates', 'win_group', 'win_user'],
    ALLOW_JINJA_IN_EXTRA_VARS: 'template', AWX_ISOLATION_BASE_PATH: '/tmp', AWX_ISOLATION_SHOW_PATHS: [], AWX_TASK_ENV: {},
    DEFAULT_JOB_TIMEOUT: 0, DEFAULT_INVENTORY_UPDATE_TIMEOUT: 0, DEFAULT_PROJECT_UPDATE_TIMEOUT: 0, ANSIBLE_FACT_CACHE_TIMEOUT: 0,
    MAX_FORKS: 200, PROJECT_UPDATE_VVV: false, SCHEDULE_MAX_JOBS: 10, EVENT_STDOUT_MAX_BYTES_DISPLAY: 0, MAX_WEBSOCKET_EVENT_RATE: 0 },
  authentication: { SESSION_COOKIE_AGE: 14400, SESSIONS_PER_USER: -1, DISABLE_LOCAL_AUTH: false, AUTH_BASIC_ENABLED: true,
    OAUTH2_PROVIDER: { ACCESS_TOKEN_EXPIRE_SECONDS: 31536000000, AUTHORIZATION_CODE_EXPIRE_SECONDS: 600, REFRESH_TOKEN_EXPIRE_SECONDS: 2628000 },
    ALLOW_OAUTH2_FOR_EXTERNAL_USERS: false, LOGIN_REDIRECT_OVERRIDE: '' },
  ui: { PENDO_TRACKING_STATE: 'off', CUSTOM_LOGIN_INFO: '', CUSTOM_LOGO: '', MAX_UI_JOB_EVENTS: 4000, UI_LIVE_UPDATES_ENABLED: true },
  logging: { LOG_AGGREGATOR_ENABLED: false, LOG_AGGREGATOR_LEVEL: 'INFO' },
  // Read by routes/bulk.ts at each request.
  bulk: { BULK_JOB_MAX_LAUNCH: 100, BULK_HOST_MAX_CREATE: 100, BULK_HOST_MAX_DELETE: 250 },
  ldap: LDAP_SETTING_DEFAULTS,
};

/**
 * Settings the jobs read, checked when written (a value the job code would refuse, or read
 * as another, is a 400 naming the setting, not a surprise at the next job).
 */
const SETTING_CHECKS: Record<string, (v: unknown, ctx: ApiContext) => string | undefined | Promise<string | undefined>> = {
  AWX_TASK_ENV: taskEnvProblem,
  DEFAULT_EXECUTION_ENVIRONMENT: async (v, ctx) => {
    if (v === null) return undefined;
    if (!Number.isSafeInteger(v)) return 'Incorrect type. Expected pk value.';
    const { rowCount } = await ctx.pool.query('SELECT 1 FROM execution_environments WHERE id = $1', [v]);
    return rowCount ? undefined : `Invalid pk "${v}" - object does not exist.`;
  },
  ALLOW_JINJA_IN_EXTRA_VARS: (v) => (['always', 'never', 'template'].includes(v as string)
    ? undefined : `"${String(v)}" is not a valid choice (always, never, template).`),
  // AWX's IntegerField bounds for these two.
  SESSION_COOKIE_AGE: (v) => ((v as number) >= 60 && (v as number) <= 30_000_000 ? undefined : 'Ensure this value is between 60 and 30000000.'),
  SESSIONS_PER_USER: (v) => ((v as number) >= -1 ? undefined : 'Ensure this value is greater than or equal to -1.'),
  OAUTH2_PROVIDER: oauth2SettingProblem,
  AWX_ISOLATION_SHOW_PATHS: (v, ctx) => {
    try { parseShowPaths(v, ctx.config.dataDir); return undefined; } catch (err) { return (err as Error).message; }
  },
  ...Object.fromEntries(Object.keys(LDAP_SETTING_DEFAULTS).map((k) => [k, (v: unknown) => ldapSettingProblem(k, v)])),
};

/**
 * Settings AWX has whose behaviour Playstream does not have: each keeps AWX's default, and any
 * other value is a 400 naming the setting and why — never stored and then ignored.
 */
const FIXED_SETTINGS: Record<string, string> = {
  MANAGE_ORGANIZATION_AUTH: 'organization admins always manage their organization\'s users and teams, as with AWX\'s default',
  REMOTE_HOST_HEADERS: 'provisioning callbacks match the connecting address only',
  PROXY_IP_ALLOWED_LIST: 'provisioning callbacks match the connecting address only',
  INSTALL_UUID: 'it is read-only',
  CUSTOM_VENV_PATHS: 'custom virtual environments are not run; use execution environments',
  AUTOMATION_ANALYTICS_URL: 'Playstream sends no analytics',
  AWX_ISOLATION_BASE_PATH: 'a job\'s private data directory is always <data dir>/jobs/<id>, inside its sandbox',
  EVENT_STDOUT_MAX_BYTES_DISPLAY: 'event stdout is always returned whole (0)',
  MAX_WEBSOCKET_EVENT_RATE: 'the console receives every event (0, no limit); the websocket server batches instead of dropping',
  DISABLE_LOCAL_AUTH: 'local accounts cannot be turned off',
  PENDO_TRACKING_STATE: 'the console sends no usage data',
  MAX_UI_JOB_EVENTS: 'the console pages output without a limit',
  UI_LIVE_UPDATES_ENABLED: 'the console always updates live',
  LOG_AGGREGATOR_ENABLED: 'logs are JSON lines on standard error, for the host\'s collector',
  LOG_AGGREGATOR_LEVEL: 'logs are JSON lines on standard error, for the host\'s collector',
};

/** Settings shown as "$encrypted$" and stored sealed (AWX's encrypted settings); "$encrypted$" written back keeps the value. */
const SECRET_SETTINGS: ReadonlySet<string> = SECRET_LDAP_SETTINGS;

const SETTING_DEFAULTS_ALL: Record<string, unknown> = Object.assign({}, ...Object.values(SETTING_DEFAULTS));

/**
 * A setting's value as AWX's field for it parses it (drf-values.ts): a boolean setting takes
 * "True", "on", 1 ..., an integer one takes "5" (AWX's settings are BooleanField and
 * IntegerField); undefined when that field would refuse it. Other kinds are checked by type.
 */
function parseSettingValue(defaultValue: unknown, v: unknown): unknown {
  if (typeof defaultValue === 'boolean') return parseDrfBoolean(v);
  if (typeof defaultValue === 'number') return parseDrfInteger(v);
  return v;
}

function settingTypeError(defaultValue: unknown): string {
  return typeof defaultValue === 'boolean' ? 'Must be a valid boolean.' : 'A valid integer is required.';
}

async function category(ctx: ApiContext, slug: string): Promise<Record<string, unknown>> {
  const keys = slug === 'all' ? Object.values(SETTING_DEFAULTS).reduce((a, b) => ({ ...a, ...b }), {}) : SETTING_DEFAULTS[slug];
  if (!keys) throw notFound();
  const { rows } = await ctx.pool.query('SELECT key, value FROM api_settings WHERE key = ANY($1::text[])', [Object.keys(keys)]);
  const out = { ...keys };
  for (const r of rows) out[r.key] = SECRET_SETTINGS.has(r.key) && r.value ? ENCRYPTED_PLACEHOLDER : r.value;
  return out;
}

export function registerConfig(router: Router<ApiContext>): void {
  // AWX's ApiRootView: the login page's customisations, readable before logging in.
  router.get('/api/', async (_req, ctx) => {
    const { rows } = await ctx.pool.query<{ key: string; value: unknown }>(
      `SELECT key, value FROM api_settings WHERE key IN ('CUSTOM_LOGO', 'CUSTOM_LOGIN_INFO', 'LOGIN_REDIRECT_OVERRIDE')`);
    const set = Object.fromEntries(rows.map((r) => [r.key, r.value]));
    return { status: 200, body: { description: 'AWX REST API', current_version: '/api/v2/', available_versions: { v2: '/api/v2/' },
      oauth2: '/api/o/', custom_logo: set.CUSTOM_LOGO ?? '', custom_login_info: set.CUSTOM_LOGIN_INFO ?? '',
      login_redirect_override: set.LOGIN_REDIRECT_OVERRIDE ?? '' } };
  });
  router.get('/api/v2/', () => ({ status: 200, body: Object.fromEntries(RESOURCES.map((r) => [r, `/api/v2/${r === 'inventory' ? 'inventories' : r}/`])) }));

  router.get('/api/v2/config/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const { rows } = await ctx.pool.query('SELECT coalesce(array_agg(id), \'{}\') AS ids FROM projects');
    // AWX's ApiV2ConfigView: the project paths go to superusers, auditors and admins, auditors or project admins of an organization.
    const g = caller.grants;
    const seesPaths = g.readsAll || g.roles.some((r) => r.type === 'organization' && ['admin_role', 'auditor_role', 'project_admin_role'].includes(r.field));
    return { status: 200, body: {
      time_zone: 'UTC', license_info: { ...OPEN_LICENSE },
      version, eula: '', analytics_status: 'off', analytics_collectors: {}, become_methods: [['sudo', 'Sudo'], ['su', 'Su'], ['pbrun', 'Pbrun'],
        ['pfexec', 'Pfexec'], ['dzdo', 'DZDO'], ['pmrun', 'Pmrun'], ['runas', 'Runas'], ['enable', 'Enable'], ['doas', 'Doas'], ['ksu', 'Ksu'],
        ['machinectl', 'Machinectl'], ['sesu', 'Sesu']],
      ui_next: false, user_ldap_fields: [], playstream: { node: ctx.config.nodeName, projects: rows[0].ids.length },
      ...(seesPaths ? { project_base_dir: `${ctx.config.dataDir}/projects`, project_local_paths: [], custom_virtualenvs: [] } : {}),
    } };
  });

  router.get('/api/v2/settings/', async (req, ctx) => {
    await requireCaller(req, ctx);
    const results = ['all', ...Object.keys(SETTING_DEFAULTS)].map((slug) => ({ url: `/api/v2/settings/${slug}/`, slug, name: slug }));
    return { status: 200, body: { count: results.length, next: null, previous: null, results } };
  });
  router.get('/api/v2/settings/:slug/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    if (!caller.grants.readsAll) throw forbidden();
    return { status: 200, body: await category(ctx, req.params.slug) };
  });
  const write = async (req: Parameters<Parameters<Router<ApiContext>['get']>[1]>[0], ctx: ApiContext) => {
    const caller = await requireCaller(req, ctx);
    if (!caller.grants.superuser) throw forbidden();
    const current = await category(ctx, req.params.slug);
    const body = jsonBody<Record<string, unknown>>(req);
    const errors: Record<string, string[]> = {};
    for (const [k, given] of Object.entries(body)) {
      if (!(k in current)) { errors[k] = ['Not a known setting.']; continue; }
      if (SECRET_SETTINGS.has(k) && given === ENCRYPTED_PLACEHOLDER) { delete body[k]; continue; }
      const d = k in SETTING_DEFAULTS_ALL ? SETTING_DEFAULTS_ALL[k] : current[k];
      const v = body[k] = parseSettingValue(d, given);
      if (v === undefined) errors[k] = [settingTypeError(d)];
      else if (d !== null && (typeof d !== typeof v || Array.isArray(d) !== Array.isArray(v))) errors[k] = [Array.isArray(d) ? 'Expected a list of items.' : typeof d === 'object' ? 'Expected a dictionary of items.' : `Expected a ${typeof d}.`];
      else if (k in FIXED_SETTINGS && JSON.stringify(v) !== JSON.stringify(d)) {
        errors[k] = [`Playstream does not support changing this setting (${FIXED_SETTINGS[k]}); only ${JSON.stringify(d)} is accepted.`];
      } else if (SETTING_CHECKS[k]) { const problem = await SETTING_CHECKS[k](v, ctx); if (problem) errors[k] = [problem]; }
    }
    if (Object.keys(errors).length) return { status: 400, body: errors };
    for (const [k, v] of Object.entries(body)) {
      const stored = SECRET_SETTINGS.has(k) && typeof v === 'string' && v ? ctx.secrets.encrypt(v) : v;
      await ctx.pool.query(`INSERT INTO api_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2, modified = now()`, [k, JSON.stringify(stored)]);
    }
    if ('AUTH_BASIC_ENABLED' in body) forgetBasicAuthSetting();
    const changes = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, SECRET_SETTINGS.has(k) && v ? ENCRYPTED_PLACEHOLDER : v]));
    await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'update', object1: 'setting', object1Id: null, changes });
    return { status: 200, body: await category(ctx, req.params.slug) };
  };
  router.put('/api/v2/settings/:slug/', write);
  router.patch('/api/v2/settings/:slug/', write);
  // AWX's SettingSingletonDetail.perform_destroy: the category's settings back to their defaults.
  router.delete('/api/v2/settings/:slug/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    if (!caller.grants.superuser) throw forbidden();
    const keys = Object.keys(await category(ctx, req.params.slug));
    await ctx.pool.query('DELETE FROM api_settings WHERE key = ANY($1::text[])', [keys]);
    if (keys.includes('AUTH_BASIC_ENABLED')) forgetBasicAuthSetting();
    await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'delete', object1: 'setting', object1Id: null,
      changes: { reset: req.params.slug } });
    return { status: 204 };
  });
}
