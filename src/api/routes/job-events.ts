import { isoUtcSql } from '../../db/iso-timestamp.js';
import { type JobKindInfo, jobKinds } from '../../db/job-kinds.js';
import { eventObject } from '../../pipeline/event-json.js';
import { eventRowFromDb } from '../../pipeline/event-row.js';
import { canReadUnifiedJob } from '../access.js';
import { requireUser } from '../auth.js';
import type { ApiContext } from '../context.js';
import { Params } from '../../db/lookups.js';
import { compileFilters, RESERVED } from '../engine/filter.js';
import { countCap, countList } from '../engine/list-count.js';
import { pageBody, pageWindow } from '../engine/pager.js';
import { prepared } from '../../db/prepared.js';
import type { Fields, ResourceDef, Row } from '../engine/resource.js';
import { type ApiRequest, badRequest, notFound, type Router } from '../http.js';

/**
 * GET /api/v2/jobs/N/job_events/ and /api/v2/<kind>/N/events/: a job's events, AWX-paged
 * (engine/pager.ts), AWX's event filters (EVENT_FIELDS), order_by counter | start_line |
 * id | created, each also descending. Every query names job_created so Postgres reads the
 * job's one partition.
 */
export interface ReadableJob {
  id: number;
  createdIso: string;
  emittedEvents: number;
  /** Finished, its stream complete and nothing missing: its events are counters 1..emittedEvents. */
  complete: boolean;
}

export async function loadReadableJob(req: ApiRequest, ctx: ApiContext, kind: JobKindInfo): Promise<ReadableJob> {
  const user = await requireUser(req, ctx);
  const id = Number(req.params.id);
  if (!Number.isSafeInteger(id) || id < 1) throw notFound();
  const { rows } = await ctx.pool.query<{ created_iso: string; emitted_events: number; complete: boolean }>(prepared(
    `SELECT ${isoUtcSql('created')} AS created_iso, emitted_events,
            (status IN ('successful', 'failed', 'error', 'canceled') AND event_processing_finished AND events_missing = 0) AS complete
       FROM unified_jobs WHERE id = $1 AND kind = $2`, [id, kind.kind]));
  if (!rows.length || !(await canReadUnifiedJob(ctx, user, id))) throw notFound();
  return { id, createdIso: rows[0].created_iso, emittedEvents: rows[0].emitted_events, complete: rows[0].complete };
}

/**
 * The event fields AWX filters on (JobEventFilter): any Django lookup the engine knows
 * (filter.ts), so `stdout__icontains`, `event__in`, `task__startswith`, `counter__gte`
 * filter and an unknown field is a 400. Written over alias t, the event table.
 */
const EVENT_FIELDS: Fields = {
  id: { type: 'int' }, created: { type: 'time' }, modified: { type: 'time' }, counter: { type: 'int' },
  event: { type: 'text' }, failed: { type: 'bool' }, changed: { type: 'bool' }, uuid: { type: 'text' },
  parent_uuid: { type: 'text' }, stdout: { type: 'text' }, verbosity: { type: 'int' }, start_line: { type: 'int' },
  end_line: { type: 'int' }, host: { type: 'int', col: 't.host_id' }, host_name: { type: 'text' }, playbook: { type: 'text' },
  play: { type: 'text' }, role: { type: 'text' }, task: { type: 'text' },
};
const EVENT_DEF = { key: 'job_events', type: 'job_event', table: '', fields: EVENT_FIELDS, search: ['stdout'],
  access: { roleType: 'job_template' } } as ResourceDef;

const ORDER: Record<string, string> = {
  counter: 't.counter', '-counter': 't.counter DESC', start_line: 't.start_line, t.counter', '-start_line': 't.start_line DESC, t.counter DESC',
  id: 't.id', '-id': 't.id DESC', created: 't.created, t.counter', '-created': 't.created DESC, t.counter DESC',
};

/**
 * The counter range [lo, hi] a query asks for when its only filters are counter bounds;
 * undefined when it filters on anything else.
 */
function counterRange(query: URLSearchParams, total: number): [number, number] | undefined {
  let lo = 1;
  let hi = total;
  for (const [key, raw] of query) {
    if (RESERVED.has(key)) continue;
    if (!/^-?\d{1,10}$/.test(raw)) return undefined;
    const v = Number(raw);
    if (key === 'counter' || key === 'counter__exact') { lo = Math.max(lo, v); hi = Math.min(hi, v); }
    else if (key === 'counter__gt') lo = Math.max(lo, v + 1);
    else if (key === 'counter__gte') lo = Math.max(lo, v);
    else if (key === 'counter__lt') hi = Math.min(hi, v - 1);
    else if (key === 'counter__lte') hi = Math.min(hi, v);
    else return undefined;
  }
  return [lo, hi];
}

/**
 * One pager (engine/pager.ts) over a job's events, at the cost of the page whatever the
 * job's size. A finished job whose stream completed with nothing missing holds exactly
 * counters 1..emitted_events (docs/intake-contract.md), so when the query filters on
 * counter bounds only and orders by counter, its count is arithmetic and page p is a
 * counter range read from the (job_id, job_created, counter) index: no OFFSET, no count(*).
 * Anything else — a running job, other orderings — counts up to the count cap and pages with
 * OFFSET over the job's one partition; other filters read it once (filteredPage).
 */
function listEvents(kind: JobKindInfo) {
  return async (req: ApiRequest, ctx: ApiContext) => {
    const job = await loadReadableJob(req, ctx, kind);
    const w = pageWindow(req.query);
    const orderBy = req.query.get('order_by') ?? 'counter';
    if (!ORDER[orderBy]) throw badRequest({ detail: `Invalid field name: ${orderBy} for order_by.` });
    const params = new Params();
    const base = [`t.job_id = ${params.push(job.id)}`, `t.job_created = ${params.push(job.createdIso)}`];
    const filters = compileFilters(EVENT_DEF, req.query, params);
    const dense = job.complete ? counterRange(req.query, job.emittedEvents) : undefined;
    let rows: Row[];
    let count: number;
    if (dense && (orderBy === 'counter' || orderBy === '-counter')) {
      const [lo, hi] = dense;
      count = Math.max(0, hi - lo + 1);
      const asc = orderBy === 'counter';
      const from = asc ? lo + w.offset : hi - w.offset;
      const to = asc ? Math.min(hi, from + w.pageSize) : Math.max(lo, from - w.pageSize);
      rows = (asc ? from > hi : from < lo) ? [] : (await ctx.pool.query(prepared(
        `SELECT * FROM ${kind.eventTable} t WHERE t.job_id = $1 AND t.job_created = $2 AND t.counter BETWEEN $3 AND $4 ORDER BY ${ORDER[orderBy]}`,
        [job.id, job.createdIso, Math.min(from, to), Math.max(from, to)]))).rows;
    } else if (!filters.length) {
      const where = base;
      const whereValues = params.values.slice();
      const limit = params.push(w.pageSize + 1);
      const offset = params.push(w.offset);
      [{ rows }, count] = await Promise.all([
        ctx.pool.query(prepared(`SELECT * FROM ${kind.eventTable} t WHERE ${where.join(' AND ')} ORDER BY ${ORDER[orderBy]} LIMIT ${limit} OFFSET ${offset}`, params.values)),
        countList(ctx.pool, kind.eventTable, where, whereValues),
      ]);
    } else {
      ({ rows, count } = await filteredPage(ctx, kind, [...base, ...filters], params, ORDER[orderBy], w));
    }
    const hasNext = rows.length > w.pageSize;
    const results = rows.slice(0, w.pageSize).map((r) => eventObject(eventRowFromDb(r), kind));
    return { status: 200, body: pageBody(req, w, count, results, hasNext) };
  };
}

/**
 * A filtered page in one pass over the job's events: the matching counters in the asked
 * order, as one array, up to the count cap (the count, capped as every list's is:
 * docs/api.md), and the page's rows joined by counter. A filter no index answers
 * (`stdout__icontains` in a partition without its search index, db/event-search-index.ts;
 * `event=` of a common event) thus reads the job once, where a page query and a count
 * beside it read it twice.
 */
async function filteredPage(ctx: ApiContext, kind: JobKindInfo, where: string[], params: Params, order: string,
  w: { offset: number; pageSize: number }): Promise<{ rows: Row[]; count: number }> {
  const cap = params.push(countCap());
  const from = params.push(w.offset + 1);
  const to = params.push(w.offset + w.pageSize + 1);
  // The matches' counters as one array (an index-only scan when an index answers the filter:
  // failures, headers), its length the count (capped), its slice the page: a page past the
  // cap reads that far, as a list's `next` promises. Numbering them with row_number() in a
  // materialized CTE cost twice as much: 12 against 7 ms for 10,000 matches.
  const { rows } = await ctx.pool.query(prepared(
    `WITH m AS MATERIALIZED (
       SELECT cs, cs[${from}:${to}] AS page FROM (
         SELECT array(SELECT t.counter FROM ${kind.eventTable} t WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT greatest(${cap}::bigint, ${to}::bigint)) AS cs) a)
     SELECT least(cardinality(m.cs), ${cap}::int) AS _count, t.* FROM m JOIN ${kind.eventTable} t
         ON t.job_id = $1 AND t.job_created = $2 AND t.counter = ANY(m.page)
      ORDER BY array_position(m.page, t.counter)`, params.values));
  return { rows, count: rows.length ? Number(rows[0]._count) : 0 };
}

export function registerJobEvents(router: Router<ApiContext>): void {
  for (const kind of Object.values(jobKinds)) {
    router.get(`/api/v2/${kind.apiPath}/:id/${kind.eventsPath}/`, listEvents(kind));
    if (kind.eventsPath !== 'events') router.get(`/api/v2/${kind.apiPath}/:id/events/`, listEvents(kind));
  }
}
