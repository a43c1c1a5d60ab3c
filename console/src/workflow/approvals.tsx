import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, type Page, post, withQuery } from '../api.js';
import { formatTime } from '../components/format.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { isStatusChange, liveSocket } from '../ws.js';

/**
 * Workflow approvals (AWX's /workflow_approvals/): the pending ones, each with Approve and
 * Deny where the server says the user may decide it (can_approve_or_deny, the approval role
 * on the workflow's template). A decision is a POST to approve/ or deny/; the list refetches
 * when any approval's status changes over the websocket.
 */
export function ApprovalRows(props: { approvals: ApiObject[]; onDecided: () => void; showWorkflow?: boolean }) {
  const [error, setError] = useState('');
  async function decide(id: number, action: 'approve' | 'deny') {
    setError('');
    try {
      await post(`/api/v2/workflow_approvals/${id}/${action}/`, {});
      props.onDecided();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <div data-testid="approvals">
      {error && <div class="error" role="alert">{error}</div>}
      <table class="table">
        <thead><tr><th>Approval</th><th>Status</th><th>Created</th><th>Expires</th><th /></tr></thead>
        <tbody>
          {props.approvals.map((a) => (
            <tr key={a.id} data-approval-id={a.id}>
              <td>{a.name}</td>
              <td><StatusBadge status={a.status} /></td>
              <td>{formatTime(a.created)}</td>
              <td>{a.expires ? formatTime(a.expires) : 'never'}</td>
              <td class="actions">
                {a.status === 'pending' && a.can_approve_or_deny && <>
                  <button type="button" class="btn-small" onClick={() => void decide(a.id, 'approve')}>Approve</button>
                  <button type="button" class="btn-small btn-danger" onClick={() => void decide(a.id, 'deny')}>Deny</button>
                </>}
              </td>
            </tr>
          ))}
          {props.approvals.length === 0 && <tr><td colSpan={5} class="muted">No pending approvals.</td></tr>}
        </tbody>
      </table>
    </div>
  );
}

/** `/approvals`: every pending approval the user may see, live. */
export function ApprovalsPage() {
  const { data, error, reload } = useFetch<Page<ApiObject>>(withQuery('/api/v2/workflow_approvals/', { status: 'pending', order_by: '-id', page_size: 100 }));
  useEffect(() => {
    const sub = liveSocket.subscribe({ jobs: ['status_changed'] });
    const off = liveSocket.onMessage((msg) => { if (isStatusChange(msg) && msg.type === 'workflow_approval') void reload(); });
    const offJoined = liveSocket.onJoined(() => void reload());
    return () => { sub.close(); off(); offJoined(); };
  }, [reload]);
  return (
    <div>
      <div class="page-head"><h1>Approvals</h1></div>
      {error && <div class="error">{error}</div>}
      {data && <ApprovalRows approvals={data.results} onDecided={() => void reload()} />}
    </div>
  );
}
