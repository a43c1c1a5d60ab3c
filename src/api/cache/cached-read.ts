import { loadGrants } from '../access.js';
import { authenticateRequest } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { Caller, ResourceDef, Row } from '../engine/resource.js';
import { unauthorized, type ApiRequest, type Handler } from '../http.js';
import { metrics } from '../../metrics.js';

const reads = metrics.counter('api_read_cache_requests_total', 'Resource GETs that may be served from the read cache.');
const builds = metrics.counter('api_read_cache_builds_total', 'Of those, the answers built (misses; concurrent misses of one key build once).');

/**
 * A GET of resource pages or details served from the read cache (read-cache.ts) as the
 * JSON text it was sent as the first time. The key is the caller's user id with the path
 * and query: what a page shows (which objects, their user_capabilities) follows from the
 * caller's grants and flags, and those are rows of watched tables, so two callers share
 * nothing and a change to anyone's roles empties the store. On a hit the request costs
 * a credential lookup (cached too) and the write of the body: no query, no grants.
 *
 * `defs` are the resources the answer reads; one marked `uncached` turns caching off.
 */
export function cachedRead(defs: ResourceDef[], build: (req: ApiRequest, ctx: ApiContext, caller: Caller) => Promise<Row>): Handler<ApiContext> {
  const cacheable = defs.every((d) => !d.uncached);
  return async (req, ctx) => {
    const auth = await authenticateRequest(req, ctx);
    if (!auth) throw unauthorized();
    const compute = async () => Buffer.from(JSON.stringify(await build(req, ctx, { ...auth, grants: await loadGrants(ctx, auth.user) })));
    if (!cacheable || !ctx.readCache) return { status: 200, headers: { 'content-type': 'application/json' }, body: await compute() };
    reads.inc();
    const body = await ctx.readCache.pages.load(`${auth.user.id} ${req.path}?${req.query.toString()}`, () => {
      builds.inc();
      return compute();
    });
    return { status: 200, headers: { 'content-type': 'application/json' }, body };
  };
}
