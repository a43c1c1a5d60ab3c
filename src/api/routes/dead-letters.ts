import { listDeadLetters } from '../../pipeline/dead-letters.js';
import { requireUser } from '../auth.js';
import type { ApiContext } from '../context.js';
import { forbidden, type Router } from '../http.js';

/** GET /api/v2/dead_letters/: events the receiver could not store, newest first (superusers only). */
export function registerDeadLetters(router: Router<ApiContext>): void {
  router.get('/api/v2/dead_letters/', async (req, ctx) => {
    const user = await requireUser(req, ctx);
    if (!user.is_superuser) throw forbidden();
    const pageSize = Math.min(200, Math.max(1, Number(req.query.get('page_size')) || 25));
    const page = Math.max(1, Number(req.query.get('page')) || 1);
    const { count, rows } = await listDeadLetters(ctx.pool, pageSize, (page - 1) * pageSize);
    const link = (p: number) => `${req.path}?page=${p}&page_size=${pageSize}`;
    return { status: 200, body: {
      count, next: page * pageSize < count ? link(page + 1) : null, previous: page > 1 ? link(page - 1) : null,
      results: rows.map((r) => ({ id: r.id, type: 'dead_letter', url: `/api/v2/dead_letters/${r.id}/`, created: r.created,
        node: r.node, code: r.code, reason: r.reason, job: r.job_id, payload: r.payload.toString('utf8') })),
    } };
  });
}
