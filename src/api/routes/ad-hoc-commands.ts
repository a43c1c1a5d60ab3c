import { launchAdHocCommand, type AdHocFields } from '../../scheduler/launch.js';
import { parseVars } from '../../scheduler/vars.js';
import { PlaystreamError } from '../../errors.js';
import { recordActivity } from '../../db/activity.js';
import { requireLinks } from '../access.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { getObject, loadRow, resolveId } from '../engine/crud.js';
import { parseDrfBoolean, parseDrfInteger } from '../engine/drf-values.js';
import type { Caller, Row } from '../engine/resource.js';
import { registerSubList } from '../engine/routes.js';
import { badRequest, jsonBody, type Router } from '../http.js';
import { groups, hosts, inventories } from '../resources/inventories.js';
import { adHocCommands } from '../resources/unified-jobs.js';
import { SETTING_DEFAULTS } from './config.js';

/**
 * Ad hoc commands as AWX launches them (AdHocCommandList, InventoryAdHocCommandsList,
 * AdHocCommandRelaunch): POST creates the command and starts it at once; the fields are
 * AdHocCommandSerializer's, checked as its model's clean_* methods check them; the module
 * must be in the AD_HOC_COMMANDS setting; the caller needs adhoc_role on the inventory and
 * use of the credential (AdHocCommandAccess.can_add). A relaunch copies the command and
 * checks all of that again, so a module removed from the setting, or a role lost, since
 * the first run stops the copy.
 */
const FIELDS = ['job_type', 'inventory', 'limit', 'credential', 'module_name', 'module_args', 'forks', 'verbosity', 'extra_vars',
  'become_enabled', 'diff_mode'];
/** AWX fields of an ad hoc command that Playstream does not run: a value for one is a 400 naming it. */
const UNSUPPORTED = ['execution_environment'];

async function allowedModules(ctx: ApiContext): Promise<string[]> {
  const { rows } = await ctx.pool.query<{ value: unknown }>(`SELECT value FROM api_settings WHERE key = 'AD_HOC_COMMANDS'`);
  const value = rows[0]?.value ?? SETTING_DEFAULTS.jobs.AD_HOC_COMMANDS;
  return Array.isArray(value) ? value.map(String) : [];
}

function text(v: unknown): string | undefined {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' ? v : undefined;
}

/** The body of a create (or the fields of a command being relaunched) checked into launch fields; every problem a 400 by field. */
async function checkAdHocFields(ctx: ApiContext, body: Row): Promise<AdHocFields> {
  const errors: Record<string, string[]> = {};
  const out: Partial<AdHocFields> = {};
  for (const k of UNSUPPORTED) if (body[k] != null) errors[k] = [`Playstream does not support ${k} on ad hoc commands.`];

  const inventory = parseDrfInteger(body.inventory);
  if (body.inventory == null) errors.inventory = ['This field is required.'];
  else if (inventory === undefined) errors.inventory = ['Incorrect type. Expected pk value.'];
  else if (!(await ctx.pool.query('SELECT 1 FROM inventories WHERE id = $1', [inventory])).rowCount) {
    errors.inventory = [`Invalid pk "${inventory}" - object does not exist.`];
  } else out.inventory_id = inventory;

  if (body.credential != null) {
    const credential = parseDrfInteger(body.credential);
    const { rows: [c] } = credential === undefined ? { rows: [] } : await ctx.pool.query<{ kind: string }>(
      'SELECT ct.kind FROM credentials c JOIN credential_types ct ON ct.id = c.credential_type_id WHERE c.id = $1', [credential]);
    if (credential === undefined) errors.credential = ['Incorrect type. Expected pk value.'];
    else if (!c) errors.credential = [`Invalid pk "${credential}" - object does not exist.`];
    else if (c.kind !== 'ssh') errors.credential = ['You must provide a machine / SSH credential.'];
    else out.credential_id = credential;
  }

  const allowed = await allowedModules(ctx);
  const moduleName = text(body.module_name)?.trim();
  if (moduleName === undefined) errors.module_name = ['Invalid type for ad hoc command'];
  else if (!moduleName && !allowed.includes('command')) errors.module_name = ['This field is required.'];
  else if (!allowed.includes(moduleName || 'command')) errors.module_name = [`"${moduleName}" is not a valid choice.`];
  else out.module_name = moduleName || 'command';

  const moduleArgs = text(body.module_args);
  if (moduleArgs === undefined) errors.module_args = ['Invalid type for ad hoc command'];
  else if (['command', 'shell'].includes(out.module_name ?? '') && !moduleArgs) errors.module_args = [`No argument passed to ${out.module_name} module.`];
  else out.module_args = moduleArgs;

  const limit = text(body.limit);
  if (limit === undefined) errors.limit = ['Not a valid string.'];
  else out.limit = limit;

  if (body.job_type != null) {
    if (body.job_type === 'run' || body.job_type === 'check') out.job_type = body.job_type;
    else errors.job_type = [`"${String(body.job_type)}" is not a valid choice.`];
  }
  for (const [k, max] of [['forks', Infinity], ['verbosity', 5]] as const) {
    if (body[k] == null) continue;
    const n = parseDrfInteger(body[k]);
    if (n === undefined) errors[k] = ['A valid integer is required.'];
    else if (n < 0 || n > max) errors[k] = k === 'verbosity' ? [`"${n}" is not a valid choice.`] : ['Ensure this value is greater than or equal to 0.'];
    else out[k] = n;
  }
  for (const k of ['become_enabled', 'diff_mode'] as const) {
    if (body[k] == null) continue;
    const b = parseDrfBoolean(body[k]);
    if (b === undefined) errors[k] = ['Must be a valid boolean.'];
    else out[k] = b;
  }
  try {
    const vars = parseVars(body.extra_vars);
    // AWX's validate_extra_vars: connection and privilege settings come from the inventory and credential, never from here.
    const prohibited = Object.keys(vars).filter((k) => k.startsWith('ansible_')).sort().reverse();
    if (prohibited.length) errors.extra_vars = [`${prohibited.join(', ')} are prohibited from use in ad hoc commands.`];
    else out.extra_vars = vars;
  } catch (err) {
    if (!(err instanceof PlaystreamError)) throw err;
    errors.extra_vars = [err.message];
  }
  if (Object.keys(errors).length) throw badRequest(errors);
  return out as AdHocFields;
}

async function startAdHocCommand(ctx: ApiContext, caller: Caller, body: Row, launchType: 'manual' | 'relaunch'): Promise<Row> {
  // The roles first, as AWX checks can_add before the serializer runs: a caller without them
  // learns nothing about the inventory or credential from a 400.
  await requireLinks(ctx.pool, caller.grants, 'ad_hoc_command', { inventory: parseDrfInteger(body.inventory),
    credential: body.credential == null ? undefined : parseDrfInteger(body.credential) });
  const fields = await checkAdHocFields(ctx, body);
  const id = await launchAdHocCommand(ctx.pool, { ...fields, created_by_id: caller.user.id, launch_type: launchType });
  await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: 'ad_hoc_command', object1Id: id,
    changes: { module_name: fields.module_name, inventory: fields.inventory_id, launch_type: launchType } });
  return getObject(ctx, adHocCommands, caller, id);
}

export function registerAdHocCommands(router: Router<ApiContext>): void {
  router.post('/api/v2/ad_hoc_commands/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const body = jsonBody<Row>(req);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
    return { status: 201, body: await startAdHocCommand(ctx, caller, body, 'manual') };
  });

  registerSubList(router, inventories, 'ad_hoc_commands', adHocCommands, { condition: (p) => `t.inventory_id = ${p}` });
  router.post('/api/v2/inventories/:id/ad_hoc_commands/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const inventory = await loadRow(ctx, inventories, caller, await resolveId(ctx, inventories, req.params.id));
    const body = jsonBody<Row>(req);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
    return { status: 201, body: await startAdHocCommand(ctx, caller, { ...body, inventory: inventory.id }, 'manual') };
  });

  // HostAdHocCommandsList / GroupAdHocCommandsList: the host's or group's inventory, limited to its name.
  for (const [path, def] of [['hosts', hosts], ['groups', groups]] as const) {
    registerSubList(router, def, 'ad_hoc_commands', adHocCommands, {
      condition: (p) => `t.inventory_id = (SELECT x.inventory_id FROM ${path} x WHERE x.id = ${p}) AND t."limit" = (SELECT x.name FROM ${path} x WHERE x.id = ${p})` });
    router.post(`/api/v2/${path}/:id/ad_hoc_commands/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const parent = await loadRow(ctx, def, caller, await resolveId(ctx, def, req.params.id));
      const body = jsonBody<Row>(req);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
      return { status: 201, body: await startAdHocCommand(ctx, caller, { ...body, inventory: parent.inventory, limit: parent.name }, 'manual') };
    });
  }

  router.get('/api/v2/ad_hoc_commands/:id/relaunch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    await loadRow(ctx, adHocCommands, caller, await resolveId(ctx, adHocCommands, req.params.id));
    return { status: 200, body: { passwords_needed_to_start: [] } };
  });
  router.post('/api/v2/ad_hoc_commands/:id/relaunch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const old = await loadRow(ctx, adHocCommands, caller, await resolveId(ctx, adHocCommands, req.params.id));
    const { rows: [stored] } = await ctx.pool.query('SELECT extra_vars FROM unified_jobs WHERE id = $1', [old.id]);
    const copy: Row = Object.fromEntries(FIELDS.map((k) => [k, old[k]]));
    copy.extra_vars = stored.extra_vars;
    const command = await startAdHocCommand(ctx, caller, copy, 'relaunch');
    return { status: 201, body: { ...command, ad_hoc_command: command.id } };
  });
}
