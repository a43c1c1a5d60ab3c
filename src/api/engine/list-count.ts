import { readSetting } from '../../config.js';
import { log } from '../../log.js';
import { prepared } from '../../db/prepared.js';
import type { Queryable } from './resource.js';

/**
 * The `count` of a list page, at a cost that does not grow with the table.
 *
 * 1. Counter tables. unified_jobs has unified_job_counts (migration 0600): one row per
 *    (kind, status, failed, organization, template, inventory, launcher) with its number
 *    of jobs, kept by statement triggers. A list whose conditions (the kind, the caller's
 *    read condition, filters on those fields) read only those columns is counted there
 *    with the very same WHERE text: its cost follows the number of groups (templates ×
 *    launchers × statuses, 2,500 in the benchmark's 1,000,000 jobs), not the jobs.
 * 2. Otherwise an exact count, stopped at countCap() rows: a larger set reports the cap
 *    (docs/api.md). `next` never depends on the count (pager.ts), so clients still page to
 *    the end. With pg_trgm and the list indexes a filter that selects few rows is counted
 *    in an index scan of those rows.
 */
/** PLAYSTREAM_API_COUNT_CAP (config.ts), read at each use. */
export const countCap = (): number => readSetting('apiCountCap');

interface CounterTable { table: string; columns: Set<string> }

const COUNTERS: Record<string, CounterTable> = {
  unified_jobs: {
    table: 'unified_job_counts',
    columns: new Set(['kind', 'status', 'failed', 'organization_id', 'unified_job_template_id', 'inventory_id', 'created_by_id']),
  },
};

/** Every `t.col` / `t."col"` a condition reads (subqueries over other tables alias theirs t too and always read t.id). */
function columnsRead(sql: string): string[] {
  return [...sql.matchAll(/\bt\."?([a-z_][a-z_0-9]*)"?/g)].map((m) => m[1]);
}

export function counterTableFor(table: string, where: string[]): string | undefined {
  const counter = COUNTERS[table];
  if (!counter) return undefined;
  return where.every((w) => columnsRead(w).every((c) => counter.columns.has(c))) ? counter.table : undefined;
}

/**
 * The count as a scalar subquery over the list's WHERE (its parameters are the list's), to
 * ride in the page's own statement: one round trip for the page and its count.
 */
export function countSubquery(db: Queryable, table: string, where: string[]): string {
  const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const counter = counterTableFor(table, where);
  if (counter) foldNowAndThen(db);
  return counter
    ? `SELECT coalesce(sum(t.n), 0)::bigint FROM ${counter} t ${whereSql}`
    : `SELECT count(*) FROM (SELECT 1 FROM ${table} t ${whereSql} LIMIT ${countCap()}) c`;
}

/** `planned`: the statement is planned for its values (lookups.ts `Params.planFor`), not prepared. */
export async function countList(db: Queryable, table: string, where: string[], values: unknown[], opts: { planned?: boolean } = {}): Promise<number> {
  const text = `SELECT (${countSubquery(db, table, where)}) AS c`;
  const { rows } = await db.query(opts.planned ? { text, values } : prepared(text, values));
  return Number(rows[0].c);
}

/**
 * Each job adds ~6 delta rows over its life (insert, then each status change); folding
 * every FOLD_EVERY_MS keeps the table at its groups plus the last seconds' deltas. Any web
 * process may fold; concurrent folds are safe (migration 0600).
 */
const FOLD_EVERY_MS = 10_000;
let lastFold = 0;

function foldNowAndThen(db: Queryable): void {
  const now = Date.now();
  if (now - lastFold < FOLD_EVERY_MS) return;
  lastFold = now;
  db.query('SELECT fold_unified_job_counts()').catch((err) => log.warn('API: folding unified_job_counts failed', { err }));
}

/** A table's row count as the planner last estimated it (pg_class.reltuples), kept a minute: a scale, not a count. */
const sizes = new Map<string, { rows: number; at: number }>();

export async function tableRows(db: Queryable, table: string): Promise<number> {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) return 0; // a subquery (unified_job_templates): no estimate
  const known = sizes.get(table);
  if (known && Date.now() - known.at < 60_000) return known.rows;
  const { rows } = await db.query(prepared('SELECT greatest(reltuples, 0)::float8 AS n FROM pg_class WHERE oid = to_regclass($1)', [table]));
  const n = Number(rows[0]?.n ?? 0);
  sizes.set(table, { rows: n, at: Date.now() });
  return n;
}
