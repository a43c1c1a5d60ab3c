import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { resolveId } from '../engine/crud.js';
import { forbidden, notFound, type ApiRequest, type Router } from '../http.js';
import { instances } from '../resources/instances.js';

/**
 * /api/v2/instances/N/health_check/ as AWX's InstanceHealthCheck answers it: execution
 * nodes only (others are 404, AWX's queryset), GET for superusers and system auditors,
 * POST for superusers. AWX asks the node over receptor; a Playstream node reports its own
 * health with every heartbeat (programs missing → `errors`, capacity 0; cluster.ts), so the
 * check reads that report: a node heard from within PLAYSTREAM_HEARTBEAT_TOLERANCE keeps
 * what it said, one never heard from, or silent since, gets the reason in `errors` and
 * capacity 0. Either way `last_health_check` is now.
 */
const FIELDS = 'uuid, hostname, version, last_health_check, errors, cpu::float AS cpu, memory, cpu_capacity, mem_capacity, capacity';

async function executionNode(req: ApiRequest, ctx: ApiContext, write: boolean) {
  const caller = await requireCaller(req, ctx);
  if (write ? !caller.grants.superuser : !caller.grants.readsAll) throw forbidden();
  const id = await resolveId(ctx, instances, req.params.id);
  const { rows: [node] } = await ctx.pool.query(`SELECT id, hostname, node_type FROM instances WHERE id = $1`, [id]);
  if (!node || node.node_type !== 'execution') throw notFound();
  return node as { id: string; hostname: string };
}

export function registerInstanceHealth(router: Router<ApiContext>): void {
  router.get('/api/v2/instances/:id/health_check/', async (req, ctx) => {
    const node = await executionNode(req, ctx, false);
    const { rows: [out] } = await ctx.pool.query(`SELECT ${FIELDS} FROM instances WHERE id = $1`, [node.id]);
    return { status: 200, body: { ...out, memory: Number(out.memory) } };
  });
  router.post('/api/v2/instances/:id/health_check/', async (req, ctx) => {
    const node = await executionNode(req, ctx, true);
    await ctx.pool.query(
      `UPDATE instances SET last_health_check = now(), modified = now(),
         errors = CASE WHEN last_seen > now() - make_interval(secs => $2) THEN errors
                       WHEN last_seen IS NULL THEN 'No Playstream process with this hostname has sent a heartbeat yet.'
                       ELSE 'No heartbeat within ' || $2 || ' seconds (PLAYSTREAM_HEARTBEAT_TOLERANCE).' END,
         capacity = CASE WHEN last_seen > now() - make_interval(secs => $2) THEN capacity ELSE 0 END
       WHERE id = $1`, [node.id, ctx.config.heartbeatTolerance]);
    return { status: 200, body: { msg: `Health check is running for ${node.hostname}.` } };
  });
}
