import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, post } from '../api.js';
import { FINISHED, formatTime, laterStatus } from '../components/format.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { OutputView } from '../output/output-view.js';
import { Link, navigate } from '../router.js';
import { isAdmin } from '../session.js';
import { isStatusChange, liveSocket } from '../ws.js';
import { Elapsed } from './jobs.js';

/** AWX's list path and event sub-resource and websocket group per unified job type. */
const KINDS: Record<string, { path: string; events: string; group: string }> = {
  job: { path: 'jobs', events: 'job_events', group: 'job_events' },
  project_update: { path: 'project_updates', events: 'events', group: 'project_update_events' },
  inventory_update: { path: 'inventory_updates', events: 'events', group: 'inventory_update_events' },
  ad_hoc_command: { path: 'ad_hoc_commands', events: 'events', group: 'ad_hoc_command_events' },
  system_job: { path: 'system_jobs', events: 'events', group: 'system_job_events' },
};

const HOST_STATES = ['ok', 'changed', 'failures', 'dark', 'skipped', 'ignored', 'rescued'] as const;
const HOST_LABEL: Record<string, string> = { ok: 'ok', changed: 'changed', failures: 'failed', dark: 'unreachable', skipped: 'skipped', ignored: 'ignored', rescued: 'rescued' };

export function JobDetailPage(props: { kind: string; id: number; tab: string }) {
  const kind = KINDS[props.kind] ?? KINDS.job;
  const base = `/api/v2/${kind.path}/${props.id}/`;
  const { data: job, error, reload } = useFetch<ApiObject>(base);
  const [liveStatus, setLiveStatus] = useState<string>();
  const [actionError, setActionError] = useState('');

  useEffect(() => {
    const sub = liveSocket.subscribe({ jobs: ['status_changed', 'summary'] });
    const off = liveSocket.onMessage((msg) => {
      if (isStatusChange(msg) && msg.unified_job_id === props.id) {
        setLiveStatus((s) => laterStatus(s, msg.status as string));
        void reload();
      } else if ((msg.group_name ?? '').startsWith('jobs') && msg.unified_job_id === props.id) {
        void reload();
      }
    });
    const offJoined = liveSocket.onJoined(() => void reload());
    return () => { sub.close(); off(); offJoined(); };
  }, [props.id, reload]);

  if (error && !job) return <div class="error">{error}</div>;
  if (!job) return <div class="muted">Loading…</div>;
  const status = laterStatus(job.status, liveStatus)!;
  const running = !FINISHED.has(status);
  const caps = job.summary_fields?.user_capabilities ?? {};
  const sf = job.summary_fields ?? {};
  // AWX gives jobs `start`; where a server leaves it out, edit rights (or superuser) stand in.
  const canStart = typeof caps.start === 'boolean' ? caps.start : !!caps.edit || isAdmin();
  const counts: Record<string, unknown> = job.host_status_counts ?? {};

  async function act(what: 'cancel' | 'relaunch') {
    setActionError('');
    try {
      const res = await post<{ id?: number; job?: number; type?: string }>(`${base}${what}/`, {});
      if (what === 'relaunch') {
        const id = res?.id ?? res?.job;
        if (id) navigate(`/jobs/${props.kind}/${id}/output`);
      } else {
        void reload();
      }
    } catch (err) {
      setActionError((err as Error).message);
    }
  }

  return (
    <div class="job-detail">
      <div class="page-head">
        <h1><span class="muted">{job.id} —</span> {job.name}</h1>
        <StatusBadge status={status} />
        <span class="spacer" />
        {running && canStart && (
          <button type="button" class="btn-danger" onClick={() => void act('cancel')}>Cancel</button>
        )}
        {!running && canStart && props.kind === 'job' && <button type="button" class="btn" onClick={() => void act('relaunch')}>Relaunch</button>}
      </div>
      {actionError && <div class="error">{actionError}</div>}
      <div class="detail-grid card">
        <Field label="Status"><StatusBadge status={status} /></Field>
        <Field label="Started">{formatTime(job.started)}</Field>
        <Field label="Finished">{formatTime(job.finished)}</Field>
        <Field label="Elapsed"><Elapsed job={job} status={status} /></Field>
        {sf.job_template && <Field label="Template"><Link href={`/templates/job_template/${sf.job_template.id}`}>{sf.job_template.name}</Link></Field>}
        {sf.inventory && <Field label="Inventory"><Link href={`/inventories/${sf.inventory.id}`}>{sf.inventory.name}</Link></Field>}
        {sf.project && <Field label="Project"><Link href={`/projects/${sf.project.id}`}>{sf.project.name}</Link></Field>}
        {job.playbook && <Field label="Playbook">{job.playbook}</Field>}
        <Field label="Launched by">{sf.created_by?.username ?? job.launch_type ?? '—'}</Field>
        {job.execution_node && <Field label="Execution node">{job.execution_node}</Field>}
        {job.job_explanation && <Field label="Explanation">{job.job_explanation}</Field>}
      </div>
      <div class="host-counts" data-testid="host-counts">
        {HOST_STATES.map((k) => (
          <span key={k} class={`host-count hc-${k}`}>{HOST_LABEL[k]} <b>{Number(counts[k] ?? 0)}</b></span>
        ))}
      </div>
      <OutputView key={`${props.kind}-${props.id}`} jobId={props.id} eventsUrl={`${base}${kind.events}/`} wsGroup={kind.group}
        running={running} downloadUrl={`${base}stdout/?format=txt_download`} stdoutUrl={`${base}stdout/`} />
    </div>
  );
}

function Field(props: { label: string; children: preact.ComponentChildren }) {
  return <div class="field"><div class="field-label">{props.label}</div><div class="field-value">{props.children}</div></div>;
}
