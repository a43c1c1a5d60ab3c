import type { Grants } from '../access.js';
import { compare, invalidFilter, likeEscape, LOOKUPS, matching, Params } from '../../db/lookups.js';
import { permCondition } from './permissions.js';
import { colOf, type FieldDef, resourceByKey, type ResourceDef } from './resource.js';

/**
 * AWX's query-string filters (awx/api/filters.py FieldLookupBackend), compiled to SQL
 * from allow-listed field names only. A filter key is `[or__][not__]field[__field...][__lookup]`:
 * fields walk foreign keys (`organization__name`) through subqueries on the target
 * resource, lookups are Django's (`exact iexact contains icontains startswith istartswith
 * endswith iendswith gt gte lt lte in isnull regex` excluded: user regexes can be costly).
 * Values are always bound parameters; an unknown field or lookup is a 400 naming it. Field
 * names are looked up as own properties only: `constructor` or `toString` is an unknown
 * field, not Object.prototype's.
 *
 * A walk through a foreign key sees only the related objects the caller may read: the
 * subquery on the target carries the target's read condition (permissions.ts), so
 * `?inventory__name=X` on job templates matches nothing for a caller who cannot read
 * inventory X, as if it had another name; `not__` then matches every row. Ordering by a
 * related field (`order_by=inventory__name`) sorts a related object the caller cannot
 * read as NULL (last), so the order reveals nothing about it either. AWX itself applies
 * no RBAC to related-field lookups; it refuses filtering on secrets only. Superusers and
 * system auditors, who read everything, see no difference.
 */

/** Query parameters that are not filters (pagination, ordering, output). */
export const RESERVED = new Set(['page', 'page_size', 'order_by', 'order', 'search', 'format', 'role_level', 'host_filter',
  'not__search', 'limit', 'offset', 'count_disabled', 'all_pages']);

const MAX_FILTERS = 30;
const MAX_DEPTH = 3;

/** A declared field of `def`, never an inherited property of its fields object. */
function fieldOf(def: ResourceDef, name: string): FieldDef | undefined {
  return Object.hasOwn(def.fields, name) ? def.fields[name] : undefined;
}

/** The read condition on `target` (alias t) for the caller; undefined when they read it all. */
function visibleTo(target: ResourceDef, grants: Grants | undefined, params: Params): string | undefined {
  return grants ? permCondition(target, grants, 'read', params) : undefined;
}

/** One `field__...__lookup=value` against resource `def` (alias t), seen by the holder of `grants`. */
export function compileLookup(def: ResourceDef, parts: string[], raw: string, params: Params, grants: Grants | undefined, depth = 0): string {
  if (depth > MAX_DEPTH) invalidFilter('Filter path too deep.');
  const name = parts[0];
  const f = fieldOf(def, name);
  if (!f || f.writeOnly || f.noFilter) invalidFilter(`Invalid field name: ${name}`);
  const rest = parts.slice(1);
  if (f.fk && rest.length && !(rest.length === 1 && LOOKUPS.has(rest[0]))) {
    const target = resourceByKey(f.fk);
    if (!target) invalidFilter(`Invalid field name: ${name}`);
    const inner = compileLookup(target, rest, raw, params, grants, depth + 1);
    const conds = [target.where, inner, visibleTo(target, grants, params)].filter(Boolean);
    return `${colOf(name, f)} IN (SELECT t.id FROM ${target.table} t WHERE ${conds.join(' AND ')})`;
  }
  if (rest.length > 1) invalidFilter(`Invalid field name: ${parts.join('__')}`);
  const lookup = rest[0] ?? 'exact';
  if (!LOOKUPS.has(lookup)) invalidFilter(`Invalid field name: ${parts.join('__')}`);
  return compare(colOf(name, f), name, f, lookup, raw, params);
}

/** All filters of a query string: AND of plain ones, then OR-group, `not__` negated. */
export function compileFilters(def: ResourceDef, query: URLSearchParams, params: Params, grants?: Grants): string[] {
  const and: string[] = [];
  const or: string[] = [];
  let count = 0;
  for (const [key, raw] of query) {
    if (RESERVED.has(key)) continue;
    if (++count > MAX_FILTERS) invalidFilter(`At most ${MAX_FILTERS} filters are allowed.`);
    let parts = key.split('__');
    let isOr = false;
    let negate = false;
    if (parts[0] === 'chain') parts = parts.slice(1);
    if (parts[0] === 'or') { isOr = true; parts = parts.slice(1); }
    if (parts[0] === 'not') { negate = true; parts = parts.slice(1); }
    if (!parts.length || parts.some((p) => p === '')) invalidFilter(`Invalid filter: ${key}`);
    const cond = compileLookup(def, parts, raw, params, grants);
    const c = negate ? `NOT (${cond})` : `(${cond})`;
    (isOr ? or : and).push(c);
  }
  if (or.length) and.push(`(${or.join(' OR ')})`);
  if (def.queryFilters) and.push(...def.queryFilters(query, params));
  const search = query.get('search');
  if (search) {
    const terms = search.split(',').filter(Boolean).slice(0, 10);
    for (const term of terms) {
      const pattern = `%${likeEscape(term)}%`;
      and.push(`(${def.search.map((s) => matching(colOf(s, def.fields[s]), def.fields[s], params, (v, p) => `${v} ILIKE ${p.push(pattern)}`)).join(' OR ') || 'false'})`);
    }
  }
  return and;
}

/**
 * `?order_by=a,-b` → ORDER BY of allow-listed fields (fk fields order by id; `fk__name` by
 * the target's field, NULL where the caller may not read the target). Parameters of the
 * read condition are pushed to `params`.
 */
export interface Order {
  sql: string;
  /**
   * The same order over expressions no index provides, so the planner filters first and
   * sorts what matched: for a filter known to select few rows (crud.ts), where walking an
   * ordering index would pass over the whole table looking for them.
   */
  sortedSql: string;
}

/** A column's value in an expression no index matches, ordering as the column does. */
function unindexed(expr: string, type: string): string {
  switch (type) {
    case 'int': case 'float': return `(${expr} + 0)`;
    case 'time': return `(${expr} + interval '0 s')`;
    case 'text': return `(${expr} || '')`;
    case 'bool': return `(${expr})::int`;
    default: return expr;
  }
}

export function compileOrder(def: ResourceDef, query: URLSearchParams, params: Params, grants?: Grants): Order {
  const raw = query.get('order_by') ?? query.get('order') ?? def.defaultOrder ?? 'id';
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean).slice(0, 5);
  const out: string[] = [];
  const sorted: string[] = [];
  for (const item of items) {
    const desc = item.startsWith('-');
    const parts = (desc ? item.slice(1) : item).split('__');
    const f = fieldOf(def, parts[0]);
    if (!f || f.writeOnly || f.noFilter || f.type === 'json') invalidFilter(`Invalid field name: ${item} for order_by.`);
    let expr = colOf(parts[0], f);
    if (parts.length === 2 && f.fk) {
      const target = resourceByKey(f.fk);
      const tf = target && fieldOf(target, parts[1]);
      if (!target || !tf || tf.writeOnly || tf.fk || tf.type === 'json') invalidFilter(`Invalid field name: ${item} for order_by.`);
      const fkExpr = expr;
      // The target's column expressions are written over alias t; rename it so the outer t stays visible.
      expr = `(SELECT ${colOf(parts[1], tf).replace(/\bt\./g, 'o.')} FROM ${target.table} o WHERE o.id = ${fkExpr})`;
      // The read condition is written over alias t too: it goes in its own subquery, where t is the target.
      const visible = visibleTo(target, grants, params);
      if (visible) expr = `CASE WHEN ${fkExpr} IN (SELECT t.id FROM ${target.table} t WHERE ${visible}) THEN ${expr} END`;
    } else if (parts.length > 1) {
      invalidFilter(`Invalid field name: ${item} for order_by.`);
    }
    // A column sorts as Django sorts it on Postgres (AWX's semantics: NULLs after ascending,
    // before descending), which a btree index of migration 0600 reads forwards or backwards;
    // a related object's field keeps NULLS LAST (unreadable targets sort last either way).
    const direction = `${desc ? 'DESC' : 'ASC'}${parts.length === 2 ? ' NULLS LAST' : ''}`;
    out.push(`${expr} ${direction}`);
    sorted.push(`${parts.length === 2 ? expr : unindexed(expr, f.type)} ${direction}`);
  }
  // The tie-break follows the first key's direction so one (column, id) index serves both;
  // after a related field (no index) it stays ascending, so objects whose target the caller
  // cannot read keep one order whichever way the caller sorts.
  const first = items[0] ?? '';
  const descTie = first.startsWith('-') && !first.includes('__');
  if (!items.some((i) => i.replace(/^-/, '') === 'id')) {
    out.push(`t.id ${descTie ? 'DESC' : 'ASC'}`);
    sorted.push(`${unindexed('t.id', 'int')} ${descTie ? 'DESC' : 'ASC'}`);
  }
  return { sql: out.join(', '), sortedSql: sorted.join(', ') };
}
