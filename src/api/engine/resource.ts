import type pg from 'pg';
import type { AuthenticatedUser } from '../auth.js';
import type { Grants } from '../access.js';
import type { ApiContext } from '../context.js';
import type { Column, Params } from '../../db/lookups.js';

/**
 * A resource definition: everything the generic engine needs to list, filter, order,
 * serialize, create, update and delete one AWX resource. Field names are the allow-list:
 * filters, order_by and writes accept only names declared here, and the SQL for each is
 * the `col` expression written in this file's callers, never text from a request.
 */
export type FieldType = Column['type'];

/** A field: its column's type (and vocabulary, db/lookups.ts) and how the API shows and writes it. */
export interface FieldDef extends Column {
  /** SQL expression over alias `t`; default `t."<name>"` (or `t."<name>_id"` for fk fields). */
  col?: string;
  /** Foreign key to another resource's key (`organizations`): the API shows the id under the field name. */
  fk?: string;
  /** Accepted on POST/PUT/PATCH. */
  writable?: boolean;
  /** Required on create. */
  required?: boolean;
  /** Allowed values. */
  choices?: readonly string[];
  /** Not returned and not filterable (passwords). */
  writeOnly?: boolean;
  /** Shown on the object's own page, left out of list pages (AWX's list serializers drop it). */
  detailOnly?: boolean;
  /** Shown, never filtered on: it may hold what was hidden for showing (a filter would let a caller probe the stored value). */
  noFilter?: boolean;
  /** Fields ending with `_id` in SQL that are not foreign keys; default value on create. */
  default?: unknown;
  /** Maximum length for text fields. */
  maxLength?: number;
  /** Accepts JSON null (as AWX's allow_null fields do) and stores this value for it. */
  nullAs?: string | null;
  /** OPTIONS' label (default: the name, capitalized, underscores as spaces) and help text. */
  label?: string;
  helpText?: string;
}

export type Fields = Record<string, FieldDef>;

/** The caller of one request, with their grants (see access.ts). */
export interface Caller {
  user: AuthenticatedUser;
  /** Token scope: 'read' forbids unsafe methods. */
  scope: 'read' | 'write';
  grants: Grants;
}

export type Capabilities = Record<string, boolean>;
export type Row = Record<string, unknown>;

/** How RBAC applies to a resource (see access.ts). */
export interface AccessRule {
  /** The role-bearing type whose permissions apply (`inventory` for hosts). */
  roleType: string;
  /** SQL over t: id of the role-bearing object (default `t.id`). */
  idExpr?: string;
  /** SQL over t: its organization (default `t.organization_id`; null: none). */
  orgExpr?: string | null;
  /** Everyone reads; superusers write. */
  public?: boolean;
  /** Superusers only (system auditors read). */
  superOnly?: boolean;
  /** Replaces the read condition (users, unified jobs). Returns SQL over t. */
  readSql?: (grants: Grants, params: Params) => string;
  /** The role type of one row's roles when it varies by row (schedules: their template's kind); default `roleType`. */
  rowRoleType?: (row: Row) => string;
  /** Replaces the role check for `admin` on one row (users: themselves, or admin of an organization they belong to). */
  rowAdmin?: (grants: Grants, row: Row) => boolean;
  /** An extra condition on deleting one row, after `admin` (users: never yourself). */
  mayDelete?: (grants: Grants, row: Row) => boolean;
  /** Whether the caller may create with these (validated) fields; default: admin of the parent or organization. */
  canCreate?: (ctx: ApiContext, grants: Grants, data: Row) => Promise<boolean> | boolean;
}

export interface ResourceDef {
  access: AccessRule;
  /** API collection name: `job_templates`. */
  key: string;
  /** AWX `type` of each object. */
  type: string;
  table: string;
  /** Fixed condition on the table (`t.kind = 'job'`). */
  where?: string;
  fields: Fields;
  /** Hidden columns the access rules read (`... AS "_name"`), selected with every row, never shown. */
  accessSelect?: string;
  /** Fields `?search=` looks in. */
  search: string[];
  /** Conditions from query parameters other than field lookups (`?host_filter=` on hosts). */
  queryFilters?: (query: URLSearchParams, params: Params) => string[];
  /** Default order (an allow-listed field name, `-` for descending). */
  defaultOrder?: string;
  /** Named URL parts: `['name', 'organization.name']` → `Name++Org`. */
  namedUrl?: [string] | [string, string];
  /** Columns of the table a summary of this resource shows (summary_fields of other objects). */
  summary?: string[];
  /** Related links of one object (besides the fk fields', which the engine adds). */
  related?: (row: Row) => Record<string, string>;
  /** Adds extra summary_fields entries for a page of objects (one query per page, not per object). */
  extraSummary?: (ctx: ApiContext, rows: Row[], caller: Caller) => Promise<void>;
  /** Object role fields (`admin_role`, ...) shown under summary_fields.object_roles. */
  objectRoles?: string[];
  /** AWX `resource_type` in the activity stream; default `type`. */
  activityName?: string;
  /** Validates and normalizes a write; may throw a 400. `existing` is set on update. */
  prepare?: (ctx: ApiContext, db: Queryable, data: Row, existing: Row | undefined, caller: Caller) => Promise<Row> | Row;
  /** Runs after insert in the same transaction (credentials for a job template, roles, ...). */
  afterCreate?: (ctx: ApiContext, db: Queryable, id: number, data: Row, caller: Caller) => Promise<void>;
  afterUpdate?: (ctx: ApiContext, db: Queryable, id: number, data: Row, caller: Caller) => Promise<void>;
  /** Custom write of the row (credentials encrypt inputs); default an INSERT of the writable fields. */
  insert?: (ctx: ApiContext, db: Queryable, data: Row) => Promise<number>;
  update?: (ctx: ApiContext, db: Queryable, id: number, data: Row, existing: Row) => Promise<void>;
  /**
   * Masks the secrets only this resource can tell (credential inputs by their type's secret
   * fields) in `values` bound for the activity stream; `whole` is the object they belong to
   * (its type). The activity stream then masks key names and ciphertexts generically.
   */
  activityMask?: (db: Queryable, values: Row, whole: Row) => Promise<Row>;
  /** Extra serialization (masking secrets, computed fields). */
  present?: (row: Row, out: Row) => void;
  /** Refuse deletion with a 409/400 (a running job, ...). */
  beforeDelete?: (ctx: ApiContext, db: Queryable, row: Row) => Promise<void>;
  /** No POST on the collection. */
  readOnly?: boolean;
  /**
   * AWX fields this resource does not implement, with why: a write giving one a value that
   * asks for something (not null, false, '', 0 or empty) is a 400 naming it, never ignored.
   */
  unsupported?: Record<string, string>;
  /** Never served from the read cache: changes to its table do not empty it (cache/read-cache.ts). */
  uncached?: boolean;
  noDelete?: boolean;
}

export type Queryable = Pick<pg.Pool, 'query'>;

const registry = new Map<string, ResourceDef>();

export function defineResource(def: ResourceDef): ResourceDef {
  registry.set(def.key, def);
  return def;
}

export function resourceByKey(key: string): ResourceDef | undefined {
  return registry.get(key);
}

export function allResources(): ResourceDef[] {
  return [...registry.values()];
}

/** The SQL expression of a field. */
export function colOf(name: string, f: FieldDef): string {
  return f.col ?? (f.fk ? `t."${name}_id"` : `t."${name}"`);
}
