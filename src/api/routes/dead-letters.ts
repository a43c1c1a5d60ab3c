import { listDeadLetters } from '../../pipeline/dead-letters.js';
import { requireUser } from '../auth.js';
import type { ApiContext } from '../context.js';
import { pageBody, pageWindow } from '../engine/pager.js';
import { forbidden, type Router } from '../http.js';

/** GET /api/v2/dead_letters/: events the receiver could not store, newest first (superusers only). */
export function registerDeadLetters(router: Router<ApiContext>): void {
  router.get('/api/v2/dead_letters/', async (req, ctx) => {
    const user = await requireUser(req, ctx);
    if (!user.is_superuser) throw forbidden();
    const w = pageWindow(req.query);
    const { count, rows } = await listDeadLetters(ctx.pool, w.pageSize + 1, w.offset);
    const results = rows.slice(0, w.pageSize).map((r) => ({ id: r.id, type: 'dead_letter', url: `/api/v2/dead_letters/${r.id}/`,
      created: r.created, node: r.node, code: r.code, reason: r.reason, job: r.job_id, payload: r.payload.toString('utf8') }));
    return { status: 200, body: pageBody(req, w, count, results, rows.length > w.pageSize) };
  });
}
