import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, get, type Page, post, withQuery } from '../api.js';
import { formatTime } from '../components/format.js';
import { Pager } from '../components/pager.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';
import { jobHref } from './jobs.js';
import { refusedLaunches } from './launch.js';
import { AccessPanel } from './roles.js';
import { attachedNotifications, NOTIFY_EVENTS, useCanAddTemplate } from './template-form.js';

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
  const canAdd = useCanAddTemplate();
  return (
    <div>
      <div class="page-head"><h1>Templates</h1><span class="spacer" />
        {canAdd && <Link class="btn-primary" href="/templates/job_template/new" data-testid="add">Add job template</Link>}</div>
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
  const { data: schedules } = useFetch<Page<ApiObject>>(`/api/v2/job_templates/${props.id}/schedules/?order_by=name`);
  const [notifications, setNotifications] = useState<Record<string, string[]> | undefined>(undefined);
  useEffect(() => { void attachedNotifications(props.id).then(setNotifications).catch(() => undefined); }, [props.id]);
  if (error) return <div class="error">{error}</div>;
  if (!t) return <div class="muted">Loading…</div>;
  const sf = t.summary_fields ?? {};
  return (
    <div>
      <div class="page-head">
        <h1>{t.name}</h1>
        <span class="spacer" />
        {sf.user_capabilities?.start && <button type="button" class="btn-primary" onClick={() => void launchOrPrompt(t.id)}>Launch</button>}
        {sf.user_capabilities?.edit && <Link class="btn" href={`/templates/job_template/${t.id}/edit`} data-testid="edit">Edit</Link>}
        <Link class="btn" href={`/templates/job_template/${t.id}/survey`}>Survey</Link>
        {sf.user_capabilities?.schedule && <Link class="btn" href={`/templates/job_template/${t.id}/schedules/new`}>Add schedule</Link>}
      </div>
      <div class="detail-grid card">
        <div class="field"><div class="field-label">Inventory</div><div class="field-value">{sf.inventory?.name ?? '—'}</div></div>
        <div class="field"><div class="field-label">Project</div><div class="field-value">{sf.project?.name ?? '—'}</div></div>
        <div class="field"><div class="field-label">Organization</div><div class="field-value">{sf.organization?.name ?? '—'}</div></div>
        {SHOWN.map((k) => (
          <div class="field" key={k}><div class="field-label">{k.replace(/_/g, ' ')}</div><div class="field-value">{String(t[k] ?? '') || '—'}</div></div>
        ))}
        <div class="field"><div class="field-label">Credentials</div><div class="field-value">{(sf.credentials ?? []).map((c: ApiObject) => c.name).join(', ') || '—'}</div></div>
        <div class="field"><div class="field-label">Labels</div><div class="field-value">{(sf.labels?.results ?? []).map((l: ApiObject) => l.name).join(', ') || '—'}</div></div>
        {NOTIFY_EVENTS.map(([k, label]) => (
          <div class="field" key={k}><div class="field-label">Notify on {label.toLowerCase()}</div><div class="field-value" data-notify={k}>{notifications?.[k]?.join(', ') || '—'}</div></div>
        ))}
        <div class="field"><div class="field-label">Modified</div><div class="field-value">{formatTime(t.modified)}</div></div>
      </div>
      <h2>Schedules</h2>
      <table class="table template-schedules">
        <thead><tr><th>Name</th><th>Rule</th><th>Next run</th><th>Enabled</th></tr></thead>
        <tbody>
          {(schedules?.results ?? []).map((s) => (
            <tr key={s.id}><td><Link href={`/schedules/${s.id}`}>{s.name}</Link></td><td><code>{s.rrule}</code></td><td>{formatTime(s.next_run)}</td><td>{s.enabled ? 'yes' : 'no'}</td></tr>
          ))}
          {schedules && !schedules.results.length && <tr><td colSpan={4} class="muted">None.</td></tr>}
        </tbody>
      </table>
      <AccessPanel api={`/api/v2/job_templates/${t.id}/`} canGrant={!!sf.user_capabilities?.edit} />
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
