import { type Grants, unifiedJobRead } from '../access.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { countList } from '../engine/list-count.js';
import { permCondition } from '../engine/permissions.js';
import { resourceByKey } from '../engine/resource.js';
import { Params } from '../../db/lookups.js';
import { badRequest, type Router } from '../http.js';
import { log } from '../../log.js';

/**
 * AWX's /api/v2/dashboard/ and /api/v2/dashboard/graphs/jobs/. The other resources' totals are
 * their lists' counts for the caller (readableCounts). The job figures are answered from counters kept
 * by triggers on unified_jobs, so both cost the same with a thousand jobs or a million: the
 * job figures from unified_job_counts (migration 0600, the lists' counts), the graph from
 * unified_job_finished_counts (migration 1400, finished jobs per hour). Both hold the
 * columns the /unified_jobs/ list's read condition reads (access.ts unifiedJobRead), so a
 * caller's figures are those of the jobs they may see, by the very same condition.
 */
const TERMINAL = ['successful', 'failed', 'canceled', 'error'] as const;
/** AWX's periods: how far back, and the bucket (AWX's `day` period buckets by the hour). */
const PERIODS: Record<string, { days: number; unit: 'day' | 'hour' }> = {
  month: { days: 30, unit: 'day' }, two_weeks: { days: 14, unit: 'day' }, week: { days: 7, unit: 'day' }, day: { days: 1, unit: 'hour' },
};
/** AWX's job_type filter: the unified job kinds it keeps. */
const JOB_TYPES: Record<string, string[] | null> = { all: null, inv_sync: ['inventory_update'], playbook_run: ['job'], scm_update: ['project_update'] };

/** The caller's read condition on a counter table (alias t) with its parameters from `$first`; none for superusers and auditors. */
function readCondition(grants: Grants, first: number): { sql: string; params: unknown[] } {
  if (grants.readsAll) return { sql: 'true', params: [] };
  return unifiedJobRead(grants, first);
}

/** The resources the dashboard counts besides jobs, by their list's key. */
const COUNTED = ['inventories', 'hosts', 'groups', 'projects', 'job_templates', 'organizations', 'users', 'teams', 'credentials'];

/**
 * How many of each resource the caller may read: each its list's count (the list's own read
 * condition, engine/permissions.ts), exact, and projects by scm_type with their failures. AWX
 * counts each with `accessible_objects(user, 'read_role')`. One statement.
 */
async function readableCounts(ctx: ApiContext, grants: Grants): Promise<{ counts: Record<string, number>; scm: Record<string, { total: number; failed: number }> }> {
  const params = new Params();
  const whereOf = (key: string) => {
    const def = resourceByKey(key)!;
    const where = [def.where, permCondition(def, grants, 'read', params)].filter((w): w is string => !!w);
    return { table: def.table, where };
  };
  const parts = COUNTED.map((key) => ({ key, ...whereOf(key) }));
  await params.resolve(ctx.pool);
  const whereSql = (where: string[]) => (where.length ? `WHERE ${where.map((w) => params.finish(w)).join(' AND ')}` : '');
  const projects = parts.find((p) => p.key === 'projects')!;
  const { rows: [row] } = await ctx.pool.query({ text: `SELECT ${parts.map((p) => `(SELECT count(*) FROM ${p.table} t ${whereSql(p.where)})::int AS "${p.key}"`).join(', ')},
      (SELECT json_object_agg(scm_type, json_build_object('total', total, 'failed', failed)) FROM (
         SELECT t.scm_type, count(*)::int AS total, (count(*) FILTER (WHERE t.last_job_failed))::int AS failed FROM projects t
          ${whereSql(projects.where)} GROUP BY t.scm_type) s) AS "_scm"`, values: params.values });
  const { _scm: scm, ...counts } = row;
  return { counts, scm: scm ?? {} };
}

/** Jobs (kind `job`) in all and failed, as the caller may see them: sums over unified_job_counts. */
async function jobTotals(ctx: ApiContext, grants: Grants): Promise<{ total: number; failed: number }> {
  const read = readCondition(grants, 1);
  const where = ["t.kind = 'job'", read.sql];
  const [total, failed] = await Promise.all([countList(ctx.pool, 'unified_jobs', where, read.params),
    countList(ctx.pool, 'unified_jobs', [...where, "t.status = 'failed'"], read.params)]);
  return { total, failed };
}

/**
 * Each finished job adds a delta row or two; folding every FOLD_EVERY_MS keeps the table at
 * its groups plus the last seconds' deltas (concurrent folds are safe, migration 1400).
 */
const FOLD_EVERY_MS = 10_000;
let lastFold = 0;
function foldNowAndThen(ctx: ApiContext): void {
  if (Date.now() - lastFold < FOLD_EVERY_MS) return;
  lastFold = Date.now();
  ctx.pool.query('SELECT fold_unified_job_finished_counts()').catch((err) => log.warn('API: folding unified_job_finished_counts failed', { err }));
}

export function registerDashboard(router: Router<ApiContext>): void {
  router.get('/api/v2/dashboard/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const { counts: c, scm } = await readableCounts(ctx, caller.grants);
    const jobs = await jobTotals(ctx, caller.grants);
    const scmType = (type: string, label: string) => ({ url: `/api/v2/projects/?scm_type=${type}`, label,
      failures_url: `/api/v2/projects/?scm_type=${type}&last_job_failed=True`, total: scm[type]?.total ?? 0, failed: scm[type]?.failed ?? 0 });
    return { status: 200, body: {
      related: { jobs_graph: '/api/v2/dashboard/graphs/jobs/' },
      // Playstream runs no cloud inventory plugins, so no inventory has an ec2 source and none failed.
      inventories: { url: '/api/v2/inventories/', total: c.inventories, total_with_inventory_source: 0, job_failed: 0, inventory_failed: 0 },
      inventory_sources: { ec2: { url: '/api/v2/inventory_sources/?source=ec2', failures_url: '/api/v2/inventory_sources/?source=ec2&status=failed',
        label: 'Amazon EC2', total: 0, failed: 0 } },
      groups: { url: '/api/v2/groups/', total: c.groups, inventory_failed: 0 },
      hosts: { url: '/api/v2/hosts/', failures_url: '/api/v2/hosts/?last_job_host_summary__failed=True', total: c.hosts, failed: 0 },
      projects: { url: '/api/v2/projects/', failures_url: '/api/v2/projects/?last_job_failed=True', total: c.projects,
        failed: Object.values(scm).reduce((n, x) => n + x.failed, 0) },
      scm_types: { git: scmType('git', 'Git'), svn: scmType('svn', 'Subversion'), archive: scmType('archive', 'Remote Archive') },
      users: { url: '/api/v2/users/', total: c.users },
      organizations: { url: '/api/v2/organizations/', total: c.organizations },
      teams: { url: '/api/v2/teams/', total: c.teams },
      credentials: { url: '/api/v2/credentials/', total: c.credentials },
      job_templates: { url: '/api/v2/job_templates/', total: c.job_templates },
      jobs: { url: '/api/v2/jobs/', total: jobs.total, failed: jobs.failed },
    } };
  });

  router.get('/api/v2/dashboard/graphs/jobs/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const periodName = req.query.get('period') ?? 'month';
    const period = PERIODS[periodName];
    if (!period) throw badRequest({ error: `Unknown period "${periodName}"` });
    const jobType = req.query.get('job_type') ?? 'all';
    if (!(jobType in JOB_TYPES)) throw badRequest({ job_type: [`"${jobType}" is not a valid choice (${Object.keys(JOB_TYPES).join(', ')}).`] });
    const kinds = JOB_TYPES[jobType];
    const unitMs = period.unit === 'day' ? 86_400_000 : 3_600_000;
    const end = Date.now();
    // Buckets from the start of the period's first day (UTC), as AWX starts its list at midnight.
    const first = period.unit === 'day' ? Math.floor((end - period.days * 86_400_000) / 86_400_000) * 86_400_000
      : Math.floor((end - 86_400_000) / 3_600_000) * 3_600_000;
    foldNowAndThen(ctx);
    const read = readCondition(caller.grants, 4);
    const { rows } = await ctx.pool.query<{ bucket: Date; status: string; n: string }>(
      `SELECT date_trunc($1, t.hour, 'UTC') AS bucket, t.status, sum(t.n)::bigint AS n FROM unified_job_finished_counts t
        WHERE t.hour >= $2 AND ($3::text[] IS NULL OR t.kind = ANY($3)) AND ${read.sql}
        GROUP BY 1, 2 HAVING sum(t.n) <> 0`, [period.unit, new Date(first), kinds, ...read.params]);
    const series: Record<string, Map<number, number>> = Object.fromEntries(TERMINAL.map((s) => [s, new Map()]));
    for (const r of rows) {
      const m = series[r.status];
      if (!m) continue;
      const at = new Date(r.bucket).getTime();
      m.set(at, (m.get(at) ?? 0) + Number(r.n));
    }
    const jobs: Record<string, [number, number][]> = {};
    for (const s of TERMINAL) {
      jobs[s] = [];
      for (let at = first; at <= end; at += unitMs) jobs[s].push([at / 1000, series[s].get(at) ?? 0]);
    }
    return { status: 200, body: { jobs } };
  });
}
