import { metrics } from '../../metrics.js';
import { mergePrometheus, readSnapshots } from '../../pipeline/pipeline-metrics.js';
import { redisKeys } from '../../redis-keys.js';
import { requireUser } from '../auth.js';
import type { ApiContext } from '../context.js';
import { forbidden, type Router } from '../http.js';

/**
 * GET /api/v2/metrics/ (superusers and system auditors, as in AWX): Prometheus text of this
 * web process's registry (websocket figures among them) and of every live receiver's
 * snapshot (published to Redis every 250 ms; pipeline-metrics.ts).
 */
export function registerMetrics(router: Router<ApiContext>): void {
  router.get('/api/v2/metrics/', async (req, ctx) => {
    const user = await requireUser(req, ctx);
    if (!user.is_superuser && !user.is_system_auditor) throw forbidden();
    const snapshots = await readSnapshots(ctx.redis, redisKeys(ctx.config));
    const text = mergePrometheus([metrics.render({ node: ctx.config.nodeName, process: 'web' }), ...snapshots.map((s) => s.text)]);
    return { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, body: text };
  });
}
