import type pg from 'pg';
import { loadGrants } from '../access.js';
import { authenticateRequest } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { Caller, ResourceDef, Row } from '../engine/resource.js';
import { unauthorized, type ApiRequest, type Handler } from '../http.js';
import { metrics } from '../../metrics.js';
import { DERIVED_TABLES } from './read-cache.js';

const reads = metrics.counter('api_read_cache_requests_total', 'Resource GETs that may be served from the read cache.');
const builds = metrics.counter('api_read_cache_builds_total', 'Of those, the answers built (misses; concurrent misses of one key build once).');

/**
 * A GET of resource pages or details served from the read cache (read-cache.ts) as the
 * JSON text it was sent as the first time. The key is the caller's user id and flags with
 * the path and query: what a page shows (which objects, their user_capabilities) follows
 * from the caller's grants and flags, so two callers share nothing. The answer is kept
 * with the tables its queries named (tablesOf), and a change to any of them retires it.
 * On a hit the request costs a credential lookup (cached too) and the write of the body:
 * no query, no grants.
 *
 * `defs` are the resources the answer reads; one marked `uncached` turns caching off.
 */
export function cachedRead(defs: ResourceDef[], build: (req: ApiRequest, ctx: ApiContext, caller: Caller) => Promise<Row>): Handler<ApiContext> {
  const cacheable = defs.every((d) => !d.uncached);
  return async (req, ctx) => {
    const auth = await authenticateRequest(req, ctx);
    if (!auth) throw unauthorized();
    const answer = async (c: ApiContext) => Buffer.from(JSON.stringify(await build(req, c, { ...auth, grants: await loadGrants(c, auth.user) })));
    if (!cacheable || !ctx.readCache) return { status: 200, headers: { 'content-type': 'application/json' }, body: await answer(ctx) };
    reads.inc();
    const u = auth.user;
    const key = `${u.id}${u.is_superuser ? 's' : ''}${u.is_system_auditor ? 'a' : ''} ${req.path}?${req.query.toString()}`;
    const body = await ctx.readCache.pages.load(key, async () => {
      builds.inc();
      const tables = new Set<string>();
      const value = await answer({ ...ctx, pool: recordingPool(ctx.pool, tables) });
      return { value, tables };
    });
    return { status: 200, headers: { 'content-type': 'application/json' }, body };
  };
}

/** Table names a statement reads or writes (FROM, JOIN, UPDATE, INTO), lower case; a function call is not one. */
const TABLE_REF = /\b(?:from|join|update|into)\s+(?:only\s+)?"?([a-z_][a-z0-9_]*)"?(?!\s*\(|[a-z0-9_])/gi;

export function tablesOf(sql: string): string[] {
  return [...sql.matchAll(TABLE_REF)].map((m) => m[1].toLowerCase());
}

/**
 * The pool as an answer's build sees it: every statement's tables are added to `tables`,
 * including those of clients it checks out. What the build reads is thus what its queries
 * say, not a list kept beside the code that could drift from it.
 */
function recordingPool(pool: pg.Pool, tables: Set<string>): pg.Pool {
  const note = (q: unknown) => {
    const text = typeof q === 'string' ? q : (q as { text?: string })?.text;
    if (text) for (const t of tablesOf(text)) tables.add(DERIVED_TABLES[t] ?? t);
  };
  const wrapQuery = (target: { query: (...a: unknown[]) => unknown }) => (...args: unknown[]) => {
    note(args[0]);
    return target.query(...args);
  };
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') return wrapQuery(target as never);
      if (prop === 'connect') {
        return async () => {
          const client = await target.connect();
          return new Proxy(client, { get: (c, p, r) => (p === 'query' ? wrapQuery(c as never) : Reflect.get(c, p, r)) });
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
