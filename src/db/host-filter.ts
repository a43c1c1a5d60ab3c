import type pg from 'pg';
import { type Column, compare, invalidFilter, LOOKUPS, type Params } from './lookups.js';

/**
 * AWX's host filter: the `host_filter` of a smart inventory and `?host_filter=` on
 * /api/v2/hosts/ (AWX's SmartFilter). Terms `key=value` joined by `and` and `or` (`and` binds
 * tighter), grouped with parentheses. A key is a Django lookup path on hosts
 * (`name__icontains`, `enabled`, `inventory__name`, `groups__name__startswith`) or `search` /
 * `groups__search` / `inventory__search`; a value is a bare word or "quoted" (then it may hold
 * spaces, parentheses and `=`), or nothing (the empty string). A bare `null` is SQL NULL.
 * `ansible_facts__a__b=v` matches hosts whose cached facts (scheduler/fact-cache.ts) contain
 * {"a": {"b": v}} (`a[]` for a list holding the rest; a bare v typed as JSON: null, true,
 * 5, 1.5, else a string), as AWX's JSON containment; other lookups on facts are refused.
 * Compiled to a condition over `hosts t`, values bound as parameters; the caller adds who may
 * see which hosts.
 */
export type HostFilter =
  | { op: 'and' | 'or'; items: HostFilter[] }
  | { key: string; value: string | null; quoted?: boolean };

type Token = { kind: 'word' | 'quoted'; text: string } | { kind: '(' | ')' | '=' };

const MAX_TERMS = 50;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')' || c === '=') { out.push({ kind: c }); i++; continue; }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) invalidFilter(`Invalid host filter ${JSON.stringify(text)}: unclosed quote.`);
      out.push({ kind: 'quoted', text: text.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/[\s()="]/.test(text[j])) j++;
    out.push({ kind: 'word', text: text.slice(i, j) });
    i = j;
  }
  return out;
}

export function parseHostFilter(text: string): HostFilter {
  const tokens = tokenize(text);
  let pos = 0;
  let terms = 0;
  const fail = (why: string): never => invalidFilter(`Invalid host filter ${JSON.stringify(text)}: ${why}.`);
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t?.kind === 'word' && t.text === w;

  const term = (): HostFilter => {
    const k = tokens[pos++];
    if (!k || (k.kind !== 'word' && k.kind !== 'quoted')) return fail('expected key=value');
    if (peek()?.kind !== '=') return fail(`expected = after ${JSON.stringify(k.text)}`);
    pos++;
    if (++terms > MAX_TERMS) fail(`at most ${MAX_TERMS} terms`);
    const v = peek();
    if (v?.kind === 'quoted') { pos++; return { key: k.text, value: v.text, quoted: true }; }
    if (v?.kind === 'word' && !(isWord(v, 'and') || isWord(v, 'or'))) { pos++; return { key: k.text, value: v.text === 'null' ? null : v.text }; }
    return { key: k.text, value: '' };
  };
  const primary = (): HostFilter => {
    if (peek()?.kind === '(') {
      pos++;
      const inner = or();
      if (peek()?.kind !== ')') fail('unbalanced parentheses');
      pos++;
      return inner;
    }
    return term();
  };
  const chain = (op: 'and' | 'or', next: () => HostFilter) => (): HostFilter => {
    const items = [next()];
    while (isWord(peek(), op)) { pos++; items.push(next()); }
    return items.length === 1 ? items[0] : { op, items };
  };
  const and = chain('and', primary);
  const or = chain('or', and);
  if (!tokens.length) return fail('empty');
  const tree = or();
  if (pos < tokens.length) fail(`unexpected ${JSON.stringify((tokens[pos] as { text?: string }).text ?? tokens[pos].kind)}`);
  return tree;
}

interface Field extends Column { col: string }

const HOST: Record<string, Field> = {
  id: { type: 'int', col: 't.id' }, name: { type: 'text', col: 't.name' }, description: { type: 'text', col: 't.description' },
  enabled: { type: 'bool', col: 't.enabled' }, instance_id: { type: 'text', col: 't.instance_id' },
  variables: { type: 'text', col: 't.variables' }, created: { type: 'time', col: 't.created' }, modified: { type: 'time', col: 't.modified' },
  inventory: { type: 'int', col: 't.inventory_id', fk: 'inventories' }, last_job: { type: 'int', col: 't.last_job_id', fk: 'jobs' },
};
const INVENTORY: Record<string, Field> = {
  id: { type: 'int', col: 'i.id' }, name: { type: 'text', col: 'i.name' }, description: { type: 'text', col: 'i.description' },
  organization: { type: 'int', col: 'i.organization_id', fk: 'organizations' }, kind: { type: 'text', col: 'i.kind' },
};
const GROUP: Record<string, Field> = {
  id: { type: 'int', col: 'g.id' }, name: { type: 'text', col: 'g.name' }, description: { type: 'text', col: 'g.description' },
  variables: { type: 'text', col: 'g.variables' },
};
/** Relations a key may walk, each as the hosts it selects given a condition on the related row. */
const RELATIONS: Record<string, { fields: Record<string, Field>; hosts: (cond: string) => string }> = {
  inventory: { fields: INVENTORY, hosts: (c) => `t.inventory_id IN (SELECT i.id FROM inventories i WHERE ${c})` },
  groups: { fields: GROUP, hosts: (c) => `t.id IN (SELECT gh.host_id FROM group_hosts gh JOIN groups g ON g.id = gh.group_id WHERE ${c})` },
};
const SEARCHED = ['name', 'description'];

function lookupOn(fields: Record<string, Field>, key: string, parts: string[], value: string | null, params: Params): string {
  const [name, ...rest] = parts;
  const f = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (!f || rest.length > 1 || (rest.length === 1 && !LOOKUPS.has(rest[0]))) invalidFilter(`Invalid host filter field: ${key}`);
  const lookup = rest[0] ?? 'exact';
  if (value === null) {
    if (lookup !== 'exact') invalidFilter(`Invalid host filter ${key}=null: null compares with exact only.`);
    return `${f.col} IS NULL`;
  }
  return compare(f.col, key, f, lookup, value, params);
}

const JSON_LOOKUPS = new Set([...LOOKUPS, 'contains', 'contained_by', 'has_key', 'has_keys', 'has_any_keys']);

/** `ansible_facts__a__b[]__c=v` as the JSON the host's facts must contain: {"a": {"b": [{"c": v}]}}. */
function factsContain(key: string, value: string | null, quoted: boolean, params: Params): string {
  const path = key.split('__').slice(1);
  if (path.at(-1) === 'exact') path.pop();
  const last = path.at(-1);
  if (last && JSON_LOOKUPS.has(last)) invalidFilter(`Invalid host filter field: ${key}: ansible_facts does not support searching with __${last}.`);
  if (!path.length || path.some((p) => p === '' || p === '[]')) invalidFilter(`Invalid host filter field: ${key}`);
  let typed: unknown = value;
  if (!quoted && value !== null) {
    if (value === 'true' || value === 'false') typed = value === 'true';
    else if (/^[-+]?\d+$/.test(value) || /^[-+]?\d+\.\d+$/.test(value)) typed = Number(value);
  }
  const doc = path.reduceRight<unknown>((inner, piece) => (piece.endsWith('[]') ? { [piece.slice(0, -2)]: [inner] } : { [piece]: inner }), typed);
  return `t.ansible_facts @> ${params.push(JSON.stringify(doc))}::jsonb`;
}

function term(key: string, value: string | null, quoted: boolean, params: Params): string {
  const parts = key.split('__');
  if (parts[0] === 'ansible_facts') return factsContain(key, value, quoted, params);
  const searchOn = (fields: Record<string, Field>) =>
    `(${SEARCHED.map((f) => compare(fields[f].col, key, fields[f], 'icontains', value ?? '', params)).join(' OR ')})`;
  if (key === 'search') return searchOn(HOST);
  const rel = Object.hasOwn(RELATIONS, parts[0]) ? RELATIONS[parts[0]] : undefined;
  if (rel && parts.length > 1) {
    const cond = parts.length === 2 && parts[1] === 'search' ? searchOn(rel.fields) : lookupOn(rel.fields, key, parts.slice(1), value, params);
    return rel.hosts(cond);
  }
  return lookupOn(HOST, key, parts, value, params);
}

/** The filter as a condition over `hosts t`. */
export function hostFilterSql(filter: HostFilter, params: Params): string {
  if ('op' in filter) return `(${filter.items.map((f) => hostFilterSql(f, params)).join(filter.op === 'and' ? ' AND ' : ' OR ')})`;
  return `(${term(filter.key, filter.value, filter.quoted ?? false, params)})`;
}

/**
 * The hosts of smart inventory `inventory` (an SQL expression of its id), as a condition over
 * `hosts t`: hosts of its organization's inventories matching its filter, one per name (the
 * oldest), as AWX's host manager lists them.
 */
function smartInventoryHostsSql(hostFilter: string, inventory: string, params: Params): string {
  const filter = hostFilterSql(parseHostFilter(hostFilter), params);
  return `t.id IN (SELECT DISTINCT ON (t.name) t.id FROM hosts t
    WHERE t.inventory_id IN (SELECT o.id FROM inventories o JOIN inventories s ON s.organization_id = o.organization_id WHERE s.id = ${inventory})
      AND ${filter} ORDER BY t.name, t.id)`;
}

/**
 * The hosts of an inventory (its own, or a smart inventory's) as a condition over `hosts t`:
 * `inventory` is an SQL expression of its id, `inv` its kind and host filter.
 */
export function inventoryHostsSql(inv: { kind?: unknown; host_filter?: unknown }, inventory: string, params: Params): string {
  return inv.kind === 'smart' && inv.host_filter ? smartInventoryHostsSql(String(inv.host_filter), inventory, params) : `t.inventory_id = ${inventory}`;
}

/** Reads inventory `id` and gives its hosts' condition (inventoryHostsSql) and its variables; undefined when it is gone. */
export async function loadInventoryHosts(db: Pick<pg.Pool, 'query'>, id: number, params: Params): Promise<{ hosts: string; variables: string } | undefined> {
  const { rows: [inv] } = await db.query('SELECT kind, host_filter, variables FROM inventories WHERE id = $1', [id]);
  return inv ? { hosts: inventoryHostsSql(inv, `${params.push(id)}::bigint`, params), variables: inv.variables } : undefined;
}
