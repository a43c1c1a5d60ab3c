import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { ApiRequest, Reply } from '../http.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pager.js';
import { rowPerms } from './permissions.js';
import type { Caller, FieldDef, ResourceDef, Row } from './resource.js';

/**
 * OPTIONS as AWX's Metadata class (awx/api/metadata.py, on DRF's SimpleMetadata) answers
 * it, derived from the resource's field definitions — the one description of a field the
 * engine validates, filters and serializes by, so what OPTIONS says is what a write does:
 * - `actions.GET`: every field shown, with type, label, help_text and filterable;
 * - `actions.POST` (lists) / `actions.PUT` (details): the writable fields with type,
 *   required, label, help_text, default, choices, max_length and filterable — only when the
 *   caller may create in the list / change the object, as AWX's check_permissions decides;
 * - `name`, `description`, `renders`, `parses`, `types`, `search_fields`,
 *   `related_search_fields`, `max_page_size` (lists), and `object_roles` where roles exist.
 */
const TYPE_NAMES: Record<FieldDef['type'], string> = {
  int: 'integer', float: 'float', bool: 'boolean', text: 'string', time: 'datetime', json: 'json',
};

/** AWX's help text of the fields every object has (Metadata.get_field_info's field_help_text). */
const COMMON_HELP: Record<string, string> = {
  id: 'Database ID for this {}.', name: 'Name of this {}.', description: 'Optional description of this {}.',
  type: 'Data type for this {}.', url: 'URL for this {}.', related: 'Data structure with URLs of related resources.',
  summary_fields: 'Data structure with name/description for related resources.  The output for some objects may be limited for performance reasons.',
  created: 'Timestamp when this {} was created.', modified: 'Timestamp when this {} was last modified.',
};

function capfirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function verboseName(def: ResourceDef): string {
  return def.type.replace(/^o_auth2_/, 'OAuth2 ').replace(/_/g, ' ');
}

function titleOf(def: ResourceDef): string {
  return verboseName(def).split(' ').map((w) => (w === 'OAuth2' ? w : capfirst(w))).join(' ');
}

type FieldInfo = Record<string, unknown>;

function fieldInfo(def: ResourceDef, name: string, f: FieldDef | undefined, method: 'GET' | 'POST' | 'PUT'): FieldInfo {
  let type = f ? TYPE_NAMES[f.type] : 'object';
  if (f?.fk) type = 'id';
  if (f?.choices) type = 'choice';
  if (name === 'type') type = 'choice';
  if (name === 'url') type = 'string';
  const info: FieldInfo = { type };
  if (method !== 'GET') info.required = !!f?.required;
  info.label = f?.label ?? capfirst(name.replace(/_/g, ' '));
  const help = f?.helpText ?? (COMMON_HELP[name] && COMMON_HELP[name].replace('{}', verboseName(def)));
  if (help) info.help_text = help;
  if (method !== 'GET') {
    if (f?.maxLength) info.max_length = f.maxLength;
    if (f?.default !== undefined) info.default = f.default;
    else if (f && !f.required && f.nullAs !== undefined) info.default = f.nullAs;
  }
  if (f?.choices) info.choices = f.choices.map((c) => [c, capfirst(c.replace(/[_-]/g, ' '))]);
  if (name === 'type') info.choices = [[def.type, titleOf(def)]];
  info.filterable = !!f && !f.writeOnly && f.type !== 'json' ? true : name === 'type';
  return info;
}

/** The fields of one action: GET shows what is read, POST/PUT what is written. */
function actionFields(def: ResourceDef, method: 'GET' | 'POST' | 'PUT'): Record<string, FieldInfo> {
  const out: Record<string, FieldInfo> = {};
  if (method === 'GET') {
    for (const name of ['id', 'type', 'url', 'related', 'summary_fields']) out[name] = fieldInfo(def, name, def.fields[name], method);
    for (const [name, f] of Object.entries(def.fields)) if (!f.writeOnly && !out[name]) out[name] = fieldInfo(def, name, f, method);
    return out;
  }
  for (const [name, f] of Object.entries(def.fields)) if (f.writable) out[name] = fieldInfo(def, name, f, method);
  return out;
}

/**
 * Whether the caller may create some object in this list, without data yet (AWX's
 * can_add(None)): superusers; for a resource whose objects live in organizations, an
 * admin of some organization or some parent object of the resource's role type.
 */
async function mayCreateSome(ctx: ApiContext, def: ResourceDef, caller: Caller): Promise<boolean> {
  if (def.readOnly || caller.scope === 'read') return false;
  const g = caller.grants;
  if (g.superuser) return true;
  const rule = def.access;
  if (rule.public || rule.superOnly) return false;
  if (rule.canCreate) {
    try {
      if (await rule.canCreate(ctx, g, {})) return true;
    } catch {
      // A check that needs the object's fields: the role test below decides.
    }
  }
  return g.orgs(rule.roleType, 'admin').length > 0 || g.ids(rule.roleType, 'admin').length > 0 || g.ids('organization', 'admin').length > 0;
}

function mayChange(def: ResourceDef, caller: Caller, row: Row): boolean {
  if (def.readOnly || caller.scope === 'read') return false;
  if (def.access.rowAdmin) return def.access.rowAdmin(caller.grants, row);
  return rowPerms(def, caller.grants, row).has('admin');
}

function common(def: ResourceDef, kind: 'List' | 'Detail'): Row {
  const related = Object.entries(def.fields).filter(([, f]) => f.fk).map(([n]) => `${n}__search`);
  return { name: `${titleOf(def)} ${kind}`, description: '', renders: ['application/json', 'text/html'], parses: ['application/json'],
    types: [def.type], search_fields: def.search, related_search_fields: related };
}

export async function listOptions(ctx: ApiContext, def: ResourceDef, caller: Caller, opts: { creates?: boolean } = {}): Promise<Row> {
  const actions: Row = {};
  if (opts.creates !== false && await mayCreateSome(ctx, def, caller)) actions.POST = actionFields(def, 'POST');
  actions.GET = actionFields(def, 'GET');
  return { ...common(def, 'List'), actions, max_page_size: MAX_PAGE_SIZE, page_size: DEFAULT_PAGE_SIZE };
}

export function detailOptions(def: ResourceDef, caller: Caller, row: Row): Row {
  const actions: Row = {};
  if (mayChange(def, caller, row)) actions.PUT = actionFields(def, 'PUT');
  actions.GET = actionFields(def, 'GET');
  const out: Row = { ...common(def, 'Detail'), actions };
  if (def.objectRoles?.length) out.object_roles = def.objectRoles;
  return out;
}

/** Paths anyone may ask (AWX's AllowAny views): the API roots, ping, login and OAuth 2. */
const ANONYMOUS = [/^\/api\/$/, /^\/api\/v2\/$/, /^\/api\/v2\/ping\/$/, /^\/api\/login\/$/, /^\/api\/logout\/$/, /^\/api\/o\//];

/** "Job Template Launch" for /api/v2/job_templates/7/launch/, as DRF names a view from its class. */
function viewName(path: string): string {
  const parts = path.split('/').filter(Boolean).filter((s) => s !== 'api' && s !== 'v2');
  if (parts[0] === 'settings' && parts.length === 2) return 'Setting Detail';
  const singular = (s: string) => s.replace(/ies$/, 'y').replace(/s$/, '');
  const words = parts.flatMap((s, i) => {
    if (/^\d+$/.test(s)) return i === parts.length - 1 ? ['Detail'] : [];
    return [(/^\d+$/.test(parts[i + 1] ?? '') ? singular(s) : s).split('_').map(capfirst).join(' ')];
  });
  return words.join(' ') || 'Root';
}

/**
 * OPTIONS on a route the engine does not describe (a launch, a setting category, `me/`, the
 * bulk API...): DRF's answer for a view without a described serializer — its name, renders
 * and parses, with the Allow header of the methods the path serves. The caller must be signed
 * in, as for the view itself, except on AWX's AllowAny paths.
 */
export function plainOptions(allowed: string[]): (req: ApiRequest, ctx: ApiContext) => Promise<Reply> {
  const allow = [...new Set([...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'])].join(', ');
  return async (req, ctx) => {
    if (!ANONYMOUS.some((re) => re.test(req.path))) await requireCaller(req, ctx);
    return { status: 200, headers: { allow }, body: {
      name: viewName(req.path), description: '', renders: ['application/json', 'text/html'], parses: ['application/json'] } };
  };
}

/** The Allow header DRF sends with an OPTIONS answer. */
export function allowHeader(def: ResourceDef, kind: 'list' | 'detail', creates = true): string {
  const methods = ['GET'];
  if (kind === 'list' && !def.readOnly && creates) methods.push('POST');
  if (kind === 'detail' && !def.readOnly) methods.push('PUT', 'PATCH');
  if (kind === 'detail' && !def.noDelete) methods.push('DELETE');
  return [...methods, 'HEAD', 'OPTIONS'].join(', ');
}
