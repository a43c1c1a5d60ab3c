import { useState } from 'preact/hooks';
import { type ApiObject, get, type Page, post, withQuery } from '../api.js';
import { formatTime } from '../components/format.js';
import { Pager } from '../components/pager.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';
import { jobHref } from './jobs.js';
import { refusedLaunches } from './launch.js';

const PAGE_SIZE = 20;

/** As AWX: a template with nothing to ask launches at once; otherwise the prompts page opens. */
export async function launchOrPrompt(id: number): Promise<void> {
  const base = `/api/v2/job_templates/${id}/launch/`;
  try {
    const info = await get<{ can_start_without_user_input?: boolean }>(base);
    if (info.can_start_without_user_input) {
      const res = await post<{ job?: number; id?: number }>(base, {});
      navigate(`/jobs/job/${res.job ?? res.id}/output`);
      return;
    }
  } catch (err) {
    // The launch page opens showing why (a template's stored extra vars the server refuses, ...).
    refusedLaunches.set(id, (err as Error).message);
  }
  navigate(`/templates/job_template/${id}/launch`);
}

export function TemplatesPage() {
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState('');
  const { data, error } = useFetch<Page<ApiObject>>(withQuery('/api/v2/job_templates/', { order_by: 'name', page, page_size: PAGE_SIZE, search }));
  return (
    <div>
      <div class="page-head"><h1>Templates</h1></div>
      <form class="filters card" onSubmit={(e) => { e.preventDefault(); setSearch(String(new FormData(e.currentTarget as HTMLFormElement).get('q') ?? '')); setPage(1); }}>
        <label>Search<input name="q" placeholder="name…" /></label>
        <button type="submit" class="btn-small">Search</button>
      </form>
      {error && <div class="error">{error}</div>}
      <table class="table">
        <thead><tr><th>Name</th><th>Last job</th><th>Inventory</th><th>Project</th><th>Playbook</th><th /></tr></thead>
        <tbody>
          {(data?.results ?? []).map((t) => (
            <tr key={t.id} data-template-id={t.id}>
              <td><Link href={`/templates/job_template/${t.id}`}>{t.name}</Link></td>
              <td>{t.summary_fields?.last_job ? <StatusBadge status={t.summary_fields.last_job.status} /> : <span class="muted">never run</span>}</td>
              <td>{t.summary_fields?.inventory?.name ?? '—'}</td>
              <td>{t.summary_fields?.project?.name ?? '—'}</td>
              <td>{t.playbook}</td>
              <td class="actions">
                {t.summary_fields?.user_capabilities?.start && <button type="button" class="btn-small" onClick={() => void launchOrPrompt(t.id)}>Launch</button>}
              </td>
            </tr>
          ))}
          {data && data.results.length === 0 && <tr><td colSpan={6} class="muted">No templates you may see.</td></tr>}
        </tbody>
      </table>
      {data && <Pager page={page} pageSize={PAGE_SIZE} count={data.count} onPage={setPage} />}
    </div>
  );
}

const SHOWN = ['description', 'job_type', 'playbook', 'forks', 'limit', 'verbosity', 'job_tags', 'skip_tags', 'timeout', 'become_enabled', 'diff_mode', 'allow_simultaneous', 'survey_enabled'];

export function TemplateDetailPage(props: { id: number }) {
  const { data: t, error } = useFetch<ApiObject>(`/api/v2/job_templates/${props.id}/`);
  const { data: jobs } = useFetch<Page<ApiObject>>(withQuery('/api/v2/jobs/', { job_template: props.id, order_by: '-id', page_size: 10 }));
  if (error) return <div class="error">{error}</div>;
  if (!t) return <div class="muted">Loading…</div>;
  const sf = t.summary_fields ?? {};
  return (
    <div>
      <div class="page-head">
        <h1>{t.name}</h1>
        <span class="spacer" />
        {sf.user_capabilities?.start && <button type="button" class="btn-primary" onClick={() => void launchOrPrompt(t.id)}>Launch</button>}
        {sf.user_capabilities?.edit && <Link class="btn" href={`/job_templates/${t.id}`}>Edit</Link>}
      </div>
      <div class="detail-grid card">
        <div class="field"><div class="field-label">Inventory</div><div class="field-value">{sf.inventory?.name ?? '—'}</div></div>
        <div class="field"><div class="field-label">Project</div><div class="field-value">{sf.project?.name ?? '—'}</div></div>
        <div class="field"><div class="field-label">Organization</div><div class="field-value">{sf.organization?.name ?? '—'}</div></div>
        {SHOWN.map((k) => (
          <div class="field" key={k}><div class="field-label">{k.replace(/_/g, ' ')}</div><div class="field-value">{String(t[k] ?? '') || '—'}</div></div>
        ))}
        <div class="field"><div class="field-label">Modified</div><div class="field-value">{formatTime(t.modified)}</div></div>
      </div>
      <h2>Recent jobs</h2>
      <table class="table">
        <thead><tr><th>ID</th><th>Status</th><th>Started</th><th>Finished</th></tr></thead>
        <tbody>
          {(jobs?.results ?? []).map((j) => (
            <tr key={j.id}><td><Link href={jobHref(j)}>{j.id}</Link></td><td><StatusBadge status={j.status} /></td><td>{formatTime(j.started)}</td><td>{formatTime(j.finished)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
