import { useState } from 'preact/hooks';
import { type ApiObject, get, type Page, post, withQuery } from '../api.js';
import { formatTime } from '../components/format.js';
import { Pager } from '../components/pager.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';
import { GraphEditor } from './graph-editor.js';

const PAGE_SIZE = 20;

/** As for job templates: nothing to ask launches at once, else the prompts page (pages/launch.tsx) opens. */
export async function launchWorkflowOrPrompt(id: number): Promise<void> {
  const base = `/api/v2/workflow_job_templates/${id}/launch/`;
  try {
    const info = await get<{ can_start_without_user_input?: boolean; survey_enabled?: boolean }>(base);
    if (info.can_start_without_user_input && !info.survey_enabled) {
      const res = await post<{ workflow_job?: number; id?: number }>(base, {});
      navigate(`/jobs/workflow_job/${res.workflow_job ?? res.id}`);
      return;
    }
  } catch { /* the launch page shows the error */ }
  navigate(`/templates/workflow_job_template/${id}/launch`);
}

/** `/workflow_templates`: workflow job templates, with Launch where the user may start them. */
export function WorkflowTemplatesPage() {
  const [page, setPage] = useState(1);
  const { data, error } = useFetch<Page<ApiObject>>(withQuery('/api/v2/workflow_job_templates/', { order_by: 'name', page, page_size: PAGE_SIZE }));
  return (
    <div>
      <div class="page-head"><h1>Workflow templates</h1><span class="spacer" /><Link class="btn" href="/workflow_job_templates/new">Add</Link></div>
      {error && <div class="error">{error}</div>}
      <table class="table">
        <thead><tr><th>Name</th><th>Status</th><th>Organization</th><th>Modified</th><th /></tr></thead>
        <tbody>
          {(data?.results ?? []).map((t) => (
            <tr key={t.id} data-template-id={t.id}>
              <td><Link href={`/templates/workflow_job_template/${t.id}`}>{t.name}</Link></td>
              <td><StatusBadge status={t.status} /></td>
              <td>{t.summary_fields?.organization?.name ?? '—'}</td>
              <td>{formatTime(t.modified)}</td>
              <td class="actions">
                {t.summary_fields?.user_capabilities?.start && <button type="button" class="btn-small" onClick={() => void launchWorkflowOrPrompt(t.id)}>Launch</button>}
              </td>
            </tr>
          ))}
          {data && data.results.length === 0 && <tr><td colSpan={5} class="muted">No workflow templates you may see.</td></tr>}
        </tbody>
      </table>
      {data && <Pager page={page} pageSize={PAGE_SIZE} count={data.count} onPage={setPage} />}
    </div>
  );
}

/** `/templates/workflow_job_template/N`: the template, its graph (editable with edit rights) and its recent jobs. */
export function WorkflowTemplateDetailPage(props: { id: number }) {
  const { data: t, error } = useFetch<ApiObject>(`/api/v2/workflow_job_templates/${props.id}/`);
  const { data: jobs } = useFetch<Page<ApiObject>>(withQuery(`/api/v2/workflow_job_templates/${props.id}/workflow_jobs/`, { order_by: '-id', page_size: 10 }));
  if (error) return <div class="error">{error}</div>;
  if (!t) return <div class="muted">Loading…</div>;
  const caps = t.summary_fields?.user_capabilities ?? {};
  return (
    <div>
      <div class="page-head">
        <h1>{t.name}</h1>
        <span class="spacer" />
        {caps.start && <button type="button" class="btn-primary" onClick={() => void launchWorkflowOrPrompt(t.id)}>Launch</button>}
        {caps.edit && <Link class="btn" href={`/workflow_job_templates/${t.id}`}>Edit</Link>}
      </div>
      {t.description && <p class="muted">{t.description}</p>}
      <GraphEditor templateId={t.id} editable={!!caps.edit} />
      <h2>Recent workflow jobs</h2>
      <table class="table">
        <thead><tr><th>ID</th><th>Status</th><th>Started</th><th>Finished</th></tr></thead>
        <tbody>
          {(jobs?.results ?? []).map((j) => (
            <tr key={j.id}><td><Link href={`/jobs/workflow_job/${j.id}`}>{j.id}</Link></td><td><StatusBadge status={j.status} /></td>
              <td>{formatTime(j.started)}</td><td>{formatTime(j.finished)}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
