import { useState } from 'preact/hooks';
import { type ApiObject, type Page } from '../api.js';
import { formatTime } from '../components/format.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { Link } from '../router.js';
import { jobHref } from './jobs.js';

/**
 * The home page AWX users look at first: counts (hosts, failed hosts, inventories, projects
 * and their failed syncs, templates, jobs), the job status graph, the latest jobs and the
 * templates used last. Four requests, each answered from counters or an indexed page, so
 * the page costs the same with a million jobs (routes/dashboard.ts on the server).
 */
interface Dashboard { [k: string]: { total: number; failed?: number; url: string } }
interface Graph { jobs: Record<'successful' | 'failed' | 'canceled' | 'error', [number, number][]> }

const PERIODS: [string, string][] = [['month', 'past month'], ['two_weeks', 'past two weeks'], ['week', 'past week'], ['day', 'past 24 hours']];
const JOB_TYPES: [string, string][] = [['all', 'all jobs'], ['playbook_run', 'playbook runs'], ['scm_update', 'project syncs'], ['inv_sync', 'inventory syncs']];

export function DashboardPage() {
  const { data: d, error } = useFetch<Dashboard>('/api/v2/dashboard/');
  const [period, setPeriod] = useState('month');
  const [jobType, setJobType] = useState('all');
  const { data: graph } = useFetch<Graph>(`/api/v2/dashboard/graphs/jobs/?period=${period}&job_type=${jobType}`);
  const { data: recentJobs } = useFetch<Page<ApiObject>>('/api/v2/unified_jobs/?order_by=-id&page_size=5');
  const { data: recentTemplates } = useFetch<Page<ApiObject>>('/api/v2/unified_job_templates/?order_by=-last_job_run&last_job_run__isnull=false&page_size=5&type__in=job_template,workflow_job_template');
  const count = (k: string, label: string, href: string, failed?: boolean) => (
    <Link href={href} class="tile card dash-tile" data-testid={`dash-${k}${failed ? '-failed' : ''}`}>
      <div class="tile-value">{d ? (failed ? d[k]?.failed ?? 0 : d[k]?.total ?? 0).toLocaleString() : '…'}</div>
      <div class="tile-label">{label}</div>
    </Link>
  );
  return (
    <div>
      <div class="page-head"><h1>Dashboard</h1></div>
      {error && <div class="error">{error}</div>}
      <div class="tiles">
        {count('hosts', 'Hosts', '/inventories')}
        {count('inventories', 'Inventories', '/inventories')}
        {count('projects', 'Projects', '/projects')}
        {count('projects', 'Project sync failures', '/projects', true)}
        {count('job_templates', 'Job templates', '/templates')}
        {count('jobs', 'Jobs', '/jobs')}
        {count('jobs', 'Failed jobs', '/jobs?status=failed', true)}
      </div>
      <div class="card">
        <div class="table-head">
          <h2>Job status</h2>
          <span class="spacer" />
          <select aria-label="Period" value={period} onChange={(e) => setPeriod((e.currentTarget as HTMLSelectElement).value)}>
            {PERIODS.map(([v, l]) => <option value={v}>{l}</option>)}
          </select>
          <select aria-label="Job type" value={jobType} onChange={(e) => setJobType((e.currentTarget as HTMLSelectElement).value)}>
            {JOB_TYPES.map(([v, l]) => <option value={v}>{l}</option>)}
          </select>
        </div>
        {graph ? <StatusGraph graph={graph} hourly={period === 'day'} /> : <div class="muted">Loading…</div>}
      </div>
      <div class="dash-lists">
        <div class="card">
          <h2>Recent jobs</h2>
          <table class="table compact" data-testid="recent-jobs">
            <tbody>
              {(recentJobs?.results ?? []).map((j) => (
                <tr key={j.id}><td><Link href={jobHref(j)}>{j.id} — {j.name}</Link></td><td><StatusBadge status={j.status} /></td><td class="muted">{formatTime(j.finished ?? j.started ?? j.created)}</td></tr>
              ))}
              {recentJobs && recentJobs.results.length === 0 && <tr><td class="muted">No jobs yet.</td></tr>}
            </tbody>
          </table>
        </div>
        <div class="card">
          <h2>Recently used templates</h2>
          <table class="table compact" data-testid="recent-templates">
            <tbody>
              {(recentTemplates?.results ?? []).map((t) => (
                <tr key={t.id}><td><Link href={`/templates/${t.type}/${t.id}`}>{t.name}</Link></td><td>{t.last_job_run ? <StatusBadge status={t.status} /> : null}</td>
                  <td class="muted">{t.last_job_run ? formatTime(t.last_job_run) : 'never run'}</td></tr>
              ))}
              {recentTemplates && recentTemplates.results.length === 0 && <tr><td class="muted">No templates yet.</td></tr>}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}

const SERIES = [['successful', '#3e8635'], ['failed', '#c9190b'], ['error', '#a30000'], ['canceled', '#8a8d90']] as const;

/** Stacked bars, one per day (per hour for the past day), with the dates under them: SVG, no chart library. */
function StatusGraph(props: { graph: Graph; hourly: boolean }) {
  const buckets = props.graph.jobs.successful.map(([at], i) => ({
    at, counts: SERIES.map(([s]) => props.graph.jobs[s][i]?.[1] ?? 0),
  }));
  const top = Math.max(1, ...buckets.map((b) => b.counts.reduce((x, y) => x + y, 0)));
  const W = 800; const H = 180; const left = 36; const bottom = 22;
  const bw = (W - left) / Math.max(1, buckets.length);
  const label = (at: number) => {
    const d = new Date(at * 1000);
    return props.hourly ? `${String(d.getHours()).padStart(2, '0')}:00` : `${d.getMonth() + 1}/${d.getDate()}`;
  };
  const every = Math.ceil(buckets.length / 10);
  const total = buckets.reduce((n, b) => n + b.counts.reduce((x, y) => x + y, 0), 0);
  return (
    <div>
      <svg class="status-graph" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Jobs finished by status over time" data-testid="status-graph" data-total={total}>
        <text x={left - 4} y={10} text-anchor="end" class="axis">{top}</text>
        <text x={left - 4} y={H - bottom} text-anchor="end" class="axis">0</text>
        <line x1={left} x2={W} y1={H - bottom} y2={H - bottom} stroke="#d2d2d2" />
        {buckets.map((b, i) => {
          let y = H - bottom;
          return (
            <g key={b.at} data-at={b.at}>
              {b.counts.map((c, k) => {
                if (!c) return null;
                const h = (c / top) * (H - bottom - 8);
                y -= h;
                return <rect x={left + i * bw + 1} y={y} width={Math.max(1, bw - 2)} height={h} fill={SERIES[k][1]}><title>{`${label(b.at)}: ${c} ${SERIES[k][0]}`}</title></rect>;
              })}
              {i % every === 0 && <text x={left + i * bw + bw / 2} y={H - 6} text-anchor="middle" class="axis">{label(b.at)}</text>}
            </g>
          );
        })}
      </svg>
      <div class="status-legend">{SERIES.map(([s, c]) => <span key={s}><i style={{ background: c }} /> {s}</span>)}</div>
    </div>
  );
}
