import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiObject, type Page, withQuery } from '../api.js';
import { formatElapsed, formatTime, parseApiTime } from '../components/format.js';
import { Pager } from '../components/pager.js';
import { SortHeader } from '../components/resource-table.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { currentQuery, Link, navigate } from '../router.js';
import { isStatusChange, liveSocket } from '../ws.js';

const PAGE_SIZE = 20;
/** Column headers and the `order_by` field each sorts by (none: not a column of unified jobs). */
const SORTABLE: [string, string | undefined][] = [['ID', 'id'], ['Name', 'name'], ['Status', 'status'], ['Type', undefined],
  ['Launched by', undefined], ['Started', 'started'], ['Finished', 'finished'], ['Elapsed', 'elapsed']];
const STATUSES = ['', 'pending', 'waiting', 'running', 'successful', 'failed', 'error', 'canceled'];

/** The AWX job type path for a unified job (`job`, `project_update`, ...) in console URLs. */
export function jobHref(j: { id: number; type?: string }): string {
  if (j.type === 'workflow_job') return `/jobs/workflow_job/${j.id}`;
  // An approval has no output: its decision is made from the approvals list.
  if (j.type === 'workflow_approval') return '/approvals';
  return `/jobs/${j.type ?? 'job'}/${j.id}/output`;
}

/**
 * Unified jobs, newest first, with AWX's filters (status, template name, launched by) kept
 * in the URL so a filtered list can be shared. Status changes arrive over the websocket and
 * patch the rows in place; a job not on the page (a new launch) refetches page 1, at most
 * every 500 ms however many jobs start.
 */
export function JobsPage() {
  const q = currentQuery();
  const page = Number(q.get('page') ?? 1);
  const status = q.get('status') ?? '';
  const template = q.get('template') ?? '';
  const launchedBy = q.get('launched_by') ?? '';
  const order = q.get('order_by') ?? '-id';
  const url = withQuery('/api/v2/unified_jobs/', {
    order_by: order, page, page_size: PAGE_SIZE, status,
    name__icontains: template, created_by__username__icontains: launchedBy,
  });
  const { data, error, reload } = useFetch<Page<ApiObject>>(url);
  const [live, setLive] = useState<Record<number, string>>({});
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const rowsRef = useRef<ApiObject[]>([]);
  rowsRef.current = data?.results ?? [];

  useEffect(() => { setLive({}); }, [data]);

  useEffect(() => {
    const sub = liveSocket.subscribe({ jobs: ['status_changed', 'summary'] });
    const off = liveSocket.onMessage((msg) => {
      if (!isStatusChange(msg)) return;
      const id = msg.unified_job_id as number;
      if (rowsRef.current.some((r) => r.id === id)) {
        setLive((prev) => ({ ...prev, [id]: msg.status as string }));
        if (msg.status === 'successful' || msg.status === 'failed' || msg.status === 'error' || msg.status === 'canceled') schedule();
      } else if (page === 1) {
        schedule();
      }
    });
    function schedule() {
      if (refetchTimer.current) return;
      refetchTimer.current = setTimeout(() => { refetchTimer.current = undefined; void reload(); }, 500);
    }
    return () => { sub.close(); off(); clearTimeout(refetchTimer.current); };
  }, [reload, page]);

  function setFilter(patch: Record<string, string>) {
    const next = new URLSearchParams(q);
    for (const [k, v] of Object.entries(patch)) { if (v) next.set(k, v); else next.delete(k); }
    if (!('page' in patch)) next.delete('page');
    const s = next.toString();
    navigate(`/jobs${s ? `?${s}` : ''}`, true);
  }

  return (
    <div>
      <div class="page-head"><h1>Jobs</h1></div>
      <form class="filters card" onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget as HTMLFormElement);
        setFilter({ template: String(f.get('template') ?? ''), launched_by: String(f.get('launched_by') ?? '') });
      }}>
        <label>Status
          <select name="status" value={status} onChange={(e) => setFilter({ status: (e.currentTarget as HTMLSelectElement).value })}>
            {STATUSES.map((s) => <option value={s}>{s || 'any'}</option>)}
          </select>
        </label>
        <label>Name / template<input name="template" defaultValue={template} placeholder="contains…" /></label>
        <label>Launched by<input name="launched_by" defaultValue={launchedBy} placeholder="username" /></label>
        <button type="submit" class="btn-small">Filter</button>
      </form>
      {error && <div class="error">{error}</div>}
      <table class="table jobs-table">
        <thead><tr>
          {SORTABLE.map(([label, field]) => <SortHeader key={label} label={label} field={field} order={order}
            onOrder={(o) => setFilter({ order_by: o === '-id' ? '' : o })} />)}
        </tr></thead>
        <tbody>
          {(data?.results ?? []).map((j) => (
            <tr key={j.id} data-job-id={j.id}>
              <td>{j.id}</td>
              <td><Link href={jobHref(j)}>{j.name}</Link></td>
              <td><StatusBadge status={live[j.id] ?? j.status} /></td>
              <td>{String(j.type ?? '').replace(/_/g, ' ')}</td>
              <td>{j.summary_fields?.created_by?.username ?? j.launched_by?.name ?? '—'}</td>
              <td>{formatTime(j.started)}</td>
              <td>{formatTime(j.finished)}</td>
              <td><Elapsed job={j} status={live[j.id] ?? j.status} /></td>
            </tr>
          ))}
          {data && data.results.length === 0 && <tr><td colSpan={8} class="muted">No jobs match.</td></tr>}
        </tbody>
      </table>
      {data && <Pager page={page} pageSize={PAGE_SIZE} count={data.count} onPage={(p) => setFilter({ page: String(p) })} />}
    </div>
  );
}

/**
 * A job's elapsed time: the server's figure once finished, else counted here each second
 * from `started` (AWX's list shows a running job's clock moving).
 */
export function Elapsed(props: { job: ApiObject; status: string }) {
  const running = props.status === 'running' && !!props.job.started && !props.job.finished;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  if (!running) return <span>{formatElapsed(props.job.elapsed)}</span>;
  const s = Math.max(0, (now - parseApiTime(props.job.started)) / 1000);
  return <span class="elapsed-live" data-testid="elapsed-live">{formatElapsed(Math.max(1, s))}</span>;
}
