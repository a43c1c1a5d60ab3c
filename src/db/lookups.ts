/**
 * Django's field lookups (`exact iexact contains icontains startswith istartswith endswith
 * iendswith gt gte lt lte in isnull`) compiled to SQL conditions over a column expression,
 * values always bound as parameters. Shared by the API's query-string filters
 * (api/engine/filter.ts) and inventory host filters (inventory/host-filter.ts), which AWX
 * both reads with Django's lookup rules.
 */

/**
 * The bound parameters of one statement, numbered as they are pushed. A condition may
 * depend on a lookup (`lookupCondition()`): a small query run by `resolve()` before the
 * statement, whose result `finish()` writes into the text — as a parameter, or as `false`
 * when it found nothing, which the planner then drops from an OR. The statement is then
 * planned for those values (`planFor`): a generic plan cannot know how many rows they select.
 */
export class Params {
  readonly values: unknown[] = [];
  readonly #lookups: { sql: string; values: unknown[]; build: (ref: string) => string; result?: unknown[]; ref?: string }[] = [];

  push(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }

  /**
   * A condition built from the rows `sql` finds (its one row's first column, an array), by
   * `build` given the parameter holding them. Returns a token for the text that `finish`
   * replaces; one left in a statement is a syntax error, never a silent match.
   */
  lookupCondition(sql: string, values: unknown[], build: (ref: string) => string): string {
    this.#lookups.push({ sql, values, build });
    return `⟦lookup ${this.#lookups.length - 1}⟧`;
  }

  get planFor(): boolean { return this.#lookups.length > 0; }

  async resolve(db: { query(text: string, values: unknown[]): Promise<{ rows: Record<string, unknown>[] }> }): Promise<void> {
    await Promise.all(this.#lookups.filter((l) => !l.result).map(async (l) => {
      const { rows } = await db.query(l.sql, l.values);
      l.result = (Object.values(rows[0])[0] as unknown[] | null) ?? [];
    }));
  }

  /** The text with each lookup's condition written in (after `resolve`). */
  finish(text: string): string {
    return text.replace(/⟦lookup (\d+)⟧/g, (token, i: string) => {
      const l = this.#lookups[Number(i)];
      if (!l?.result) return token;
      if (!l.result.length) return 'false';
      l.ref ??= this.push(l.result);
      return `(${l.build(l.ref)})`;
    });
  }
}

/** What a lookup needs to know of a column. */
export interface Column {
  type: 'int' | 'text' | 'bool' | 'time' | 'json' | 'float';
  /** A foreign key: `exact=null` is IS NULL. */
  fk?: string;
  /**
   * A table `(value text PRIMARY KEY)` holding every value the column has had (few, shared
   * by many rows): pattern lookups match there, then the rows by equality.
   */
  vocabulary?: string;
}

export const LOOKUPS = new Set(['exact', 'iexact', 'contains', 'icontains', 'startswith', 'istartswith', 'endswith', 'iendswith',
  'gt', 'gte', 'lt', 'lte', 'in', 'isnull']);

/** A filter a request or a stored host filter asked for that cannot be compiled: answered 400 with this text (api/http.ts). */
export class InvalidFilter extends Error {}

export function invalidFilter(message: string): never {
  throw new InvalidFilter(message);
}

/** Converts one raw value to the field's type, or a 400. */
export function coerce(field: string, f: Column, raw: string): unknown {
  switch (f.type) {
    case 'int': {
      if (!/^-?\d{1,18}$/.test(raw)) invalidFilter(`Invalid value ${JSON.stringify(raw)} for field ${field}: expected an integer.`);
      return raw;
    }
    case 'float': {
      if (!/^-?\d+(\.\d+)?$/.test(raw)) invalidFilter(`Invalid value ${JSON.stringify(raw)} for field ${field}: expected a number.`);
      return raw;
    }
    case 'bool': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      return invalidFilter(`Invalid boolean value ${JSON.stringify(raw)} for field ${field}.`);
    }
    case 'time': {
      if (Number.isNaN(Date.parse(raw))) invalidFilter(`Invalid datetime ${JSON.stringify(raw)} for field ${field}.`);
      return raw;
    }
    case 'json': return invalidFilter(`Filtering on field ${field} is not allowed.`);
    default: return raw;
  }
}

export const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function compare(expr: string, field: string, f: Column, lookup: string, raw: string, params: Params): string {
  const cast = f.type === 'int' ? '::bigint' : f.type === 'float' ? '::numeric' : f.type === 'time' ? '::timestamptz' : '';
  switch (lookup) {
    case 'exact':
      if (raw.toLowerCase() === 'null' && f.fk) return `${expr} IS NULL`;
      return `${expr} = ${params.push(coerce(field, f, raw))}${cast}`;
    case 'iexact': return matching(expr, f, params, (v, p) => `lower(${v}) = lower(${p.push(raw)})`);
    case 'contains': return matching(expr, f, params, (v, p) => `${v} LIKE ${p.push(`%${likeEscape(raw)}%`)}`);
    case 'icontains':
      if (!f.vocabulary) return icontains(`${expr}::text`, raw, params);
      return matching(expr, f, params, (v, p) => `${v} ILIKE ${p.push(`%${likeEscape(raw)}%`)}`);
    case 'startswith': return matching(expr, f, params, (v, p) => `${v} LIKE ${p.push(`${likeEscape(raw)}%`)}`);
    case 'istartswith': return matching(expr, f, params, (v, p) => `${v} ILIKE ${p.push(`${likeEscape(raw)}%`)}`);
    case 'endswith': return matching(expr, f, params, (v, p) => `${v} LIKE ${p.push(`%${likeEscape(raw)}`)}`);
    case 'iendswith': return matching(expr, f, params, (v, p) => `${v} ILIKE ${p.push(`%${likeEscape(raw)}`)}`);
    case 'gt': return `${expr} > ${params.push(coerce(field, f, raw))}${cast}`;
    case 'gte': return `${expr} >= ${params.push(coerce(field, f, raw))}${cast}`;
    case 'lt': return `${expr} < ${params.push(coerce(field, f, raw))}${cast}`;
    case 'lte': return `${expr} <= ${params.push(coerce(field, f, raw))}${cast}`;
    case 'in': {
      const items = raw.split(',').filter((s) => s !== '').slice(0, 1000).map((s) => coerce(field, f, s));
      const arr = f.type === 'int' ? 'bigint[]' : f.type === 'bool' ? 'boolean[]' : f.type === 'time' ? 'timestamptz[]' : 'text[]';
      return `${expr}${f.type === 'text' ? '::text' : ''} = ANY(${params.push(items)}::${arr})`;
    }
    case 'isnull': {
      const v = coerce(field, { type: 'bool' }, raw);
      return `${expr} IS ${v ? '' : 'NOT '}NULL`;
    }
    default: return invalidFilter(`Unsupported lookup ${lookup}.`);
  }
}

/**
 * `icontains` over long texts (a job's million event lines) is case folding of every row:
 * ILIKE costs ~5x a case-sensitive LIKE. The term's longest run of ASCII characters that
 * have no case (digits, spaces, punctuation: `777777`, `10.0.0.1`, `-01:`) appears in any
 * match exactly as typed, since no character lower-cases to one of those; a LIKE on it
 * goes first and the ILIKE reads only the rows it lets through. A term made only of such
 * characters needs no ILIKE at all.
 */
function icontains(value: string, raw: string, params: Params): string {
  const runs = raw.match(/[\x20-\x40\x5b-\x60\x7b-\x7e]+/g) ?? [];
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a), '');
  if (raw.length > 0 && longest.length === raw.length) return `${value} LIKE ${params.push(`%${likeEscape(raw)}%`)}`;
  const ilike = () => `${value} ILIKE ${params.push(`%${likeEscape(raw)}%`)}`;
  if (longest.trim().length < 3) return ilike();
  return `(${value} LIKE ${params.push(`%${likeEscape(longest)}%`)} AND ${ilike()})`;
}

/**
 * A pattern condition on a field's text: on the column itself, or, for a field with a
 * vocabulary, on the values it has had, the rows then found by equality (an index range
 * per matching value instead of a pattern test per row).
 */
export function matching(expr: string, f: Column, params: Params, cond: (value: string, p: Params) => string): string {
  if (!f.vocabulary) return cond(`${expr}::text`, params);
  // The values are looked up first, so the statement is planned knowing them: in a subquery
  // (or a generic plan) they are an unknown array, estimated at ~3 % of the table, and a
  // pattern matching no row a member can read walked the whole id index (0.25-0.85 s over
  // 1,000,000 jobs) where the name index answers in a millisecond. None: the condition is false.
  const sub = new Params();
  const where = cond('v.value', sub);
  return params.lookupCondition(`SELECT array_agg(v.value) FROM ${f.vocabulary} v WHERE ${where}`, sub.values,
    (ref) => `${expr} = ANY(${ref}::text[])`);
}

