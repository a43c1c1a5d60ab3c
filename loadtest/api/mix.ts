import type { ScaleSet } from '../../bench/api/seed.js';

/**
 * The mixed traffic of the API load test: what the console and awx.awx scripts ask of a
 * controller holding years of history. Each class draws its URL afresh per request (random
 * pages, filters, orderings, objects), so no two clients walk the same pages and a cache
 * keyed by URL sees what production would. `who` is the caller: the superuser, or a member
 * whose lists are RBAC-filtered (10 templates, the jobs they launched). loadtest/api-k6.js
 * has the same classes for k6: change one, change the other.
 */
export type Who = 'admin' | 'user';

export interface Request {
  method: 'GET' | 'PATCH';
  path: string;
  body?: string;
}

export interface UrlClass {
  name: string;
  weight: number;
  /** An example of its URLs, printed with the figures. */
  example: string;
  make(rnd: Random, who: Who): Request;
}

export type Random = () => number;

/** mulberry32: a small seeded generator, so a run's URL sequence is reproducible per client. */
export function random(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: Random, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const int = (rnd: Random, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const get = (path: string): Request => ({ method: 'GET', path });

export function urlClasses(set: ScaleSet, sizes: { jobs: number; hosts: number; events: number }): UrlClass[] {
  // Deepest pages each caller surely has (the user reads ~1/5 of the jobs).
  const jobPages = (who: Who) => Math.max(1, Math.floor((who === 'admin' ? sizes.jobs * 0.85 : sizes.jobs * 0.19) / 25));
  const userTemplates = set.templateIds.filter((_, i) => i % 2 === 0).slice(0, 10);
  // Templates that ran jobs (bench/api/seed.ts: job i runs template i % 200 unless i % 10 = 0,
  // a project update, so every tenth template has none): a filter paged past page 1 needs them.
  const ranJobs = set.templateIds.filter((_, i) => i % 10 !== 0);
  // Most reads are of the first pages (the console opens there); one in six goes deeper,
  // as a script paging through history does: up to page 2,000 for the admin, 400 for the
  // member (10,000 of their jobs back).
  const pageOf = (rnd: Random, who: Who) => (rnd() < 5 / 6 ? int(rnd, 1, 5) : int(rnd, 1, Math.min(who === 'admin' ? 2000 : 400, jobPages(who))));
  return [
    {
      name: 'jobs list', weight: 20, example: '/api/v2/jobs/?order_by=-finished&page=1234',
      make: (rnd, who) => {
        const order = pick(rnd, ['-id', '-finished', 'id', 'name', '-created', '-started']);
        const page = pageOf(rnd, who);
        return get(`/api/v2/jobs/?order_by=${order}&page=${page}`);
      },
    },
    {
      name: 'jobs filtered', weight: 12, example: '/api/v2/jobs/?status=failed&page=3',
      // The member filters what they see (a fifth of the jobs; some of their templates ran only project updates): their first page.
      make: (rnd, who) => {
        const f = who === 'admin'
          ? pick(rnd, ['status=failed', 'status=successful', 'status__in=error,canceled', 'failed=true',
            `launched_by_id=${pick(rnd, set.launcherIds)}`, `job_template=${pick(rnd, ranJobs)}`,
            `finished__gt=2026-01-${String(int(rnd, 2, 20)).padStart(2, '0')}T00:00:00Z`])
          : pick(rnd, ['status=failed', 'failed=true', `launched_by_id=${set.userId}`, `job_template=${pick(rnd, userTemplates)}`]);
        return get(`/api/v2/jobs/?${f}&order_by=${pick(rnd, ['-id', '-finished'])}&page=${who === 'admin' ? int(rnd, 1, 20) : 1}`);
      },
    },
    {
      name: 'job name search', weight: 5, example: '/api/v2/jobs/?name__icontains=template%200042',
      make: (rnd) => get(`/api/v2/jobs/?${pick(rnd, ['name__icontains', 'search'])}=${encodeURIComponent(`template ${String(int(rnd, 0, set.templateIds.length - 1)).padStart(4, '0')}`)}&order_by=-id`),
    },
    {
      name: 'job detail', weight: 15, example: '/api/v2/jobs/123456/',
      make: (rnd, who) => get(`/api/v2/jobs/${set.firstJobId + jobIndex(rnd, who, sizes.jobs)}/`),
    },
    {
      name: 'unified_jobs', weight: 10, example: '/api/v2/unified_jobs/?order_by=-finished&page=7',
      make: (rnd, who) => {
        const order = pick(rnd, ['-finished', '-id', 'status', '-created']);
        const page = pageOf(rnd, who);
        // The member reads no project updates (none of their templates' projects).
        return get(`/api/v2/unified_jobs/?order_by=${order}&page=${page}${who === 'admin' && rnd() < 0.3 ? '&type=project_update' : ''}`);
      },
    },
    {
      name: 'hosts', weight: 10, example: '/api/v2/hosts/?search=host-0421',
      // The member reads no inventory: their host list is the empty page 1.
      make: (rnd, who) => (rnd() < 0.5
        ? get(`/api/v2/hosts/?search=host-${String(int(rnd, 0, Math.floor(sizes.hosts / 10) - 1)).padStart(4, '0')}`)
        : get(`/api/v2/hosts/?page=${who === 'admin' ? int(rnd, 1, Math.floor(sizes.hosts / 25)) : 1}&order_by=${pick(rnd, ['name', '-id'])}`)),
    },
    {
      name: 'job events', weight: 12, example: '/api/v2/jobs/BIG/job_events/?page=31337',
      make: (rnd) => {
        const base = `/api/v2/jobs/${set.bigJobId}/job_events/`;
        const r = rnd();
        if (r < 0.5) return get(`${base}?page=${int(rnd, 1, Math.floor(sizes.events / 25))}`);
        if (r < 0.75) {
          const from = int(rnd, 0, sizes.events - 100);
          return get(`${base}?counter__gt=${from}&counter__lte=${from + 100}&page_size=100`);
        }
        return get(`${base}?order_by=-counter&page=${int(rnd, 1, 1000)}`);
      },
    },
    {
      name: 'job templates', weight: 6, example: '/api/v2/job_templates/?page=5',
      make: (rnd, who) => get(who === 'admin'
        ? `/api/v2/job_templates/?page=${int(rnd, 1, Math.floor(set.templateIds.length / 25))}&order_by=${pick(rnd, ['name', '-id'])}`
        : '/api/v2/job_templates/'),
    },
    { name: 'me', weight: 5, example: '/api/v2/me/', make: () => get('/api/v2/me/') },
    {
      // The admin edits templates; the member edits their own user (the only object they administer).
      name: 'writes', weight: 5, example: 'PATCH /api/v2/job_templates/N/ {"description"}',
      make: (rnd, who) => (who === 'admin'
        ? { method: 'PATCH', path: `/api/v2/job_templates/${pick(rnd, set.templateIds)}/`, body: JSON.stringify({ description: `load test ${int(rnd, 0, 1e9)}` }) }
        : { method: 'PATCH', path: `/api/v2/users/${set.userId}/`, body: JSON.stringify({ first_name: `Load ${int(rnd, 0, 1e9)}` }) }),
    },
  ];
}

/**
 * A seeded job (not a project update: every 10th) the caller may read: any for the admin;
 * for the user one they launched (bench/api/seed.ts: launcher 1 + i % 5, none on every 7th).
 */
function jobIndex(rnd: Random, who: Who, jobs: number): number {
  for (;;) {
    const i = int(rnd, 0, jobs - 1);
    if (i % 10 === 0) continue;
    if (who === 'user' && (i % 5 !== 1 || i % 7 === 0)) continue;
    return i;
  }
}

/** A weighted choice over the classes. */
export function chooser(classes: UrlClass[]): (rnd: Random) => UrlClass {
  const total = classes.reduce((s, c) => s + c.weight, 0);
  return (rnd) => {
    let x = rnd() * total;
    for (const c of classes) if ((x -= c.weight) < 0) return c;
    return classes[classes.length - 1];
  };
}
