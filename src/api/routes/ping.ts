import { version } from '../../paths.js';
import type { ApiContext } from '../context.js';
import type { Router } from '../http.js';

/** GET /api/v2/ping/ — no auth; AWX's shape: version, active node, instances, instance groups. */
export function registerPing(router: Router<ApiContext>): void {
  router.get('/api/v2/ping/', async (_req, ctx) => {
    const { rows: instances } = await ctx.pool.query(
      `SELECT hostname AS node, node_type, uuid, last_seen AS heartbeat, capacity, version
         FROM instances ORDER BY hostname`);
    const { rows: groups } = await ctx.pool.query(
      `SELECT g.name, g.capacity, coalesce(array_agg(i.hostname ORDER BY i.hostname) FILTER (WHERE i.id IS NOT NULL), '{}') AS instances
         FROM (SELECT ig.id, ig.name, coalesce(sum(i.capacity), 0)::int AS capacity
                 FROM instance_groups ig
                 LEFT JOIN instance_group_instances igi ON igi.instance_group_id = ig.id
                 LEFT JOIN instances i ON i.id = igi.instance_id
                GROUP BY ig.id) g
         LEFT JOIN instance_group_instances igi ON igi.instance_group_id = g.id
         LEFT JOIN instances i ON i.id = igi.instance_id
        GROUP BY g.id, g.name, g.capacity ORDER BY g.name`);
    return {
      status: 200,
      body: { ha: instances.length > 1, version, active_node: ctx.config.nodeName, install_uuid: '', instances, instance_groups: groups },
    };
  });
}
