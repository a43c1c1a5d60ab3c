import { isoUtcSql } from '../../db/iso-timestamp.js';
import { type JobKindInfo, jobKinds } from '../../db/job-kinds.js';
import { serializeEvent } from '../../pipeline/event-serializer.js';
import { canReadUnifiedJob } from '../access.js';
import { requireUser } from '../auth.js';
import type { ApiContext } from '../context.js';
import { type ApiRequest, badRequest, notFound, type Router } from '../http.js';

/**
 * GET /api/v2/jobs/N/job_events/ and /api/v2/<kind>/N/events/: a job's events, AWX-paged.
 * Filters counter__gt/gte/lt/lte (and event, failed, changed, host_name), order_by
 * counter | -counter | start_line | -start_line | id | -id, page_size ≤ 200. Every query
 * names job_created so Postgres reads the job's one partition.
 */
export async function loadReadableJob(req: ApiRequest, ctx: ApiContext, kind: JobKindInfo): Promise<{ id: number; createdIso: string }> {
  const user = await requireUser(req, ctx);
  const id = Number(req.params.id);
  if (!Number.isSafeInteger(id) || id < 1) throw notFound();
  const { rows } = await ctx.pool.query<{ created_iso: string }>(
    `SELECT ${isoUtcSql('created')} AS created_iso
       FROM unified_jobs WHERE id = $1 AND kind = $2`, [id, kind.kind]);
  if (!rows.length || !(await canReadUnifiedJob(ctx, user, id))) throw notFound();
  return { id, createdIso: rows[0].created_iso };
}

const ORDER: Record<string, string> = {
  counter: 'counter', '-counter': 'counter DESC', start_line: 'start_line, counter', '-start_line': 'start_line DESC, counter DESC',
  id: 'id', '-id': 'id DESC',
};
const FILTERS: Record<string, string> = { counter__gt: 'counter >', counter__gte: 'counter >=', counter__lt: 'counter <', counter__lte: 'counter <=' };

function intParam(req: ApiRequest, name: string, fallback: number): number {
  const raw = req.query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw badRequest({ [name]: ['A valid integer is required.'] });
  return Number(raw);
}

function listEvents(kind: JobKindInfo) {
  return async (req: ApiRequest, ctx: ApiContext) => {
    const job = await loadReadableJob(req, ctx, kind);
    const where = ['job_id = $1', 'job_created = $2'];
    const args: unknown[] = [job.id, job.createdIso];
    for (const [param, op] of Object.entries(FILTERS)) {
      const v = req.query.get(param);
      if (v === null) continue;
      if (!/^-?\d+$/.test(v)) throw badRequest({ [param]: ['A valid integer is required.'] });
      args.push(Number(v));
      where.push(`${op} $${args.length}`);
    }
    for (const col of ['event', 'host_name', 'uuid', 'parent_uuid']) {
      const v = req.query.get(col);
      if (v !== null) { args.push(v); where.push(`${col} = $${args.length}`); }
    }
    for (const col of ['failed', 'changed']) {
      const v = req.query.get(col);
      if (v !== null) { args.push(/^(true|1)$/i.test(v)); where.push(`${col} = $${args.length}`); }
    }
    const orderBy = req.query.get('order_by') ?? 'counter';
    if (!ORDER[orderBy]) throw badRequest({ detail: `Invalid order_by: ${orderBy}` });
    const pageSize = Math.min(200, Math.max(1, intParam(req, 'page_size', 25)));
    const page = Math.max(1, intParam(req, 'page', 1));
    const w = where.join(' AND ');
    const [count, list] = await Promise.all([
      ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${kind.eventTable} WHERE ${w}`, args),
      ctx.pool.query(`SELECT * FROM ${kind.eventTable} WHERE ${w} ORDER BY ${ORDER[orderBy]} LIMIT ${pageSize} OFFSET ${(page - 1) * pageSize}`, args),
    ]);
    const n = count.rows[0].n;
    const link = (p: number) => {
      const q = new URLSearchParams(req.query);
      q.set('page', String(p));
      return `${req.path}?${q.toString()}`;
    };
    if (page > 1 && (page - 1) * pageSize >= n && n > 0) throw notFound();
    const results = list.rows.map((r) => {
      let data: Record<string, unknown>;
      try { data = JSON.parse(r.event_data); } catch { data = {}; }
      return serializeEvent({ ...r, event_data: data }, kind);
    });
    return { status: 200, body: { count: n, next: page * pageSize < n ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null, results } };
  };
}

export function registerJobEvents(router: Router<ApiContext>): void {
  for (const kind of Object.values(jobKinds)) {
    router.get(`/api/v2/${kind.apiPath}/:id/${kind.eventsPath}/`, listEvents(kind));
    if (kind.eventsPath !== 'events') router.get(`/api/v2/${kind.apiPath}/:id/events/`, listEvents(kind));
  }
}
