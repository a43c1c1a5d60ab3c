import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type ApiObject, get, type Page, post } from '../api.js';
import { FINISHED, formatElapsed, formatTime, laterStatus } from '../components/format.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';
import { isStatusChange, liveSocket } from '../ws.js';
import { ApprovalRows } from './approvals.js';
import { EdgeLegend, GraphView, type ViewNode } from './graph-view.js';

/**
 * `/jobs/workflow_job/N`: a workflow job's graph with each node's job status live. The page
 * subscribes to AWX's `workflow_events: [N]` (a node's job changed status, or a node got a
 * job) and `jobs: ['status_changed']` (the workflow's own status); a message for a job the
 * page already shows patches that node, one for a job it does not know yet refetches the
 * nodes. Clicking a node with a job opens that job's page. Pending approvals of this
 * workflow are listed under the graph with Approve / Deny.
 */
export function WorkflowJobPage(props: { id: number }) {
  const base = `/api/v2/workflow_jobs/${props.id}/`;
  const { data: job, error, reload } = useFetch<ApiObject>(base);
  const [nodes, setNodes] = useState<ApiObject[]>();
  const [live, setLive] = useState<Record<number, string>>({});
  const [heardStatus, setHeardStatus] = useState<string>();
  const [approvals, setApprovals] = useState<ApiObject[]>([]);
  const [actionError, setActionError] = useState('');
  const jobsShown = useRef(new Set<number>());

  const loadNodes = useCallback(async () => {
    const page = await get<Page<ApiObject>>(`${base}workflow_nodes/?page_size=200&order_by=id`);
    jobsShown.current = new Set(page.results.filter((n) => n.job != null).map((n) => Number(n.job)));
    setNodes(page.results);
    const pending = page.results.filter((n) => n.summary_fields?.job?.type === 'workflow_approval' && n.summary_fields.job.status === 'pending');
    setApprovals(await Promise.all(pending.map((n) => get<ApiObject>(`/api/v2/workflow_approvals/${n.job}/`))));
  }, [base]);

  useEffect(() => { void loadNodes().catch((err) => setActionError((err as Error).message)); }, [loadNodes]);

  useEffect(() => {
    const sub = liveSocket.subscribe({ jobs: ['status_changed'], workflow_events: [props.id] });
    const off = liveSocket.onMessage((msg) => {
      if (msg.group_name === 'workflow_events' && Number(msg.workflow_job_id) === props.id) {
        const jobId = Number(msg.unified_job_id);
        // Messages of one job may cross (a pending published after its running): a status never goes back.
        setLive((l) => {
          const status = laterStatus(l[jobId], String(msg.status))!;
          return status === l[jobId] ? l : { ...l, [jobId]: status };
        });
        // A node's job appearing, or an approval changing, is more than a colour: read the nodes again.
        if (!jobsShown.current.has(jobId) || msg.type === 'workflow_approval') void loadNodes();
      } else if (isStatusChange(msg) && msg.unified_job_id === props.id) {
        setHeardStatus((s) => laterStatus(s, String(msg.status)));
        void reload();
        // Finished: do_not_run marks are final now.
        if (FINISHED.has(String(msg.status))) void loadNodes();
      }
    });
    const offJoined = liveSocket.onJoined(() => { void reload(); void loadNodes(); });
    return () => { sub.close(); off(); offJoined(); };
  }, [props.id, reload, loadNodes]);

  if (error && !job) return <div class="error">{error}</div>;
  if (!job) return <div class="muted">Loading…</div>;
  const status = laterStatus(job.status, heardStatus)!;
  const running = !FINISHED.has(status);
  const caps = job.summary_fields?.user_capabilities ?? {};
  const templateId = job.workflow_job_template ?? job.job_template;

  const viewNodes: ViewNode[] = (nodes ?? []).map((n) => {
    const sj = n.summary_fields?.job;
    // The later of what was read and what was heard (a reconnect reads again what messages were lost).
    const heard = n.job != null ? live[n.job] : undefined;
    const read = sj?.status ?? 'pending';
    const status = n.job != null ? laterStatus(read, heard)! : n.do_not_run ? 'do_not_run' : 'waiting_to_run';
    const ujt = n.summary_fields?.unified_job_template;
    return {
      ...n, status, identifier: n.identifier,
      title: ujt?.name ?? sj?.name ?? 'deleted resource',
      subtitle: <><span class="wf-node-status">{status.replace(/_/g, ' ')}</span>{n.job != null && <span class="muted"> #{n.job}</span>}</>,
    };
  });

  function open(n: ViewNode) {
    const src = (nodes ?? []).find((x) => x.id === n.id);
    const jobType = src?.summary_fields?.job?.type;
    if (src?.job == null || !jobType) return;
    if (jobType === 'workflow_approval') return;
    navigate(jobType === 'workflow_job' ? `/jobs/workflow_job/${src.job}` : `/jobs/${jobType}/${src.job}/output`);
  }

  async function act(what: 'cancel' | 'relaunch') {
    setActionError('');
    try {
      const res = await post<{ id?: number }>(`${base}${what}/`, {});
      if (what === 'relaunch' && res?.id) navigate(`/jobs/workflow_job/${res.id}`);
      else void reload();
    } catch (err) {
      setActionError((err as Error).message);
    }
  }

  return (
    <div class="workflow-job">
      <div class="page-head">
        <h1><span class="muted">{job.id} —</span> {job.name}</h1>
        <StatusBadge status={status} />
        <span class="spacer" />
        {running && (caps.start || caps.delete) && <button type="button" class="btn-danger" onClick={() => void act('cancel')}>Cancel</button>}
        {!running && caps.start && !job.is_sliced_job && <button type="button" class="btn" onClick={() => void act('relaunch')}>Relaunch</button>}
      </div>
      {actionError && <div class="error" role="alert">{actionError}</div>}
      <div class="detail-grid card">
        <div class="field"><div class="field-label">Started</div><div class="field-value">{formatTime(job.started)}</div></div>
        <div class="field"><div class="field-label">Finished</div><div class="field-value">{formatTime(job.finished)}</div></div>
        <div class="field"><div class="field-label">Elapsed</div><div class="field-value">{formatElapsed(job.elapsed)}</div></div>
        {templateId != null && (
          <div class="field"><div class="field-label">Template</div><div class="field-value">
            <Link href={job.is_sliced_job ? `/templates/job_template/${templateId}` : `/templates/workflow_job_template/${templateId}`}>
              {job.summary_fields?.unified_job_template?.name ?? job.summary_fields?.workflow_job_template?.name ?? job.summary_fields?.job_template?.name ?? templateId}
            </Link>
          </div></div>
        )}
        <div class="field"><div class="field-label">Launched by</div><div class="field-value">{job.summary_fields?.created_by?.username ?? job.launch_type}</div></div>
        {job.job_explanation && <div class="field"><div class="field-label">Explanation</div><div class="field-value">{job.job_explanation}</div></div>}
      </div>
      <div class="card wf-card">
        {nodes ? <GraphView nodes={viewNodes} onNodeClick={open} /> : <div class="muted">Loading nodes…</div>}
        <EdgeLegend />
      </div>
      {approvals.length > 0 && <><h2>Approvals</h2><ApprovalRows approvals={approvals} onDecided={() => void loadNodes()} /></>}
    </div>
  );
}
