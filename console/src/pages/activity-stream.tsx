import { useState } from 'preact/hooks';
import { type ApiObject, type Page, withQuery } from '../api.js';
import { formatTime } from '../components/format.js';
import { Pager } from '../components/pager.js';
import { SortHeader } from '../components/resource-table.js';
import { useFetch } from '../components/use-fetch.js';
import { currentQuery, navigate } from '../router.js';
import { me } from '../session.js';

/**
 * AWX's activity stream (`/api/v2/activity_stream/`): who changed what, newest first, with
 * its filters — the kind of object, the operation, the actor, a time range — kept in the URL.
 * The API serves it to superusers and system auditors only; anyone else is told so.
 */
const PAGE_SIZE = 25;
const OBJECTS = ['', 'organization', 'user', 'team', 'credential', 'credential_type', 'project', 'inventory', 'host', 'group', 'inventory_source',
  'job_template', 'workflow_job_template', 'job', 'ad_hoc_command', 'schedule', 'notification_template', 'instance_group', 'setting', 'o_auth2_access_token'];
const OPERATIONS = ['', 'create', 'update', 'delete', 'associate', 'disassociate'];

export function ActivityStreamPage() {
  const q = currentQuery();
  const page = Number(q.get('page') ?? 1);
  const order = q.get('order_by') ?? '-timestamp';
  const params = { object1: q.get('object1') ?? '', operation: q.get('operation') ?? '', actor__username: q.get('actor') ?? '',
    timestamp__gte: q.get('since') ?? '' };
  // Asked only by those the API answers: anyone else would get a 403 (and a console error).
  const mayRead = !!me.value && (me.value.is_superuser || me.value.is_system_auditor);
  const { data, error } = useFetch<Page<ApiObject>>(!mayRead ? undefined : withQuery('/api/v2/activity_stream/', {
    ...params, timestamp__gte: params.timestamp__gte ? new Date(params.timestamp__gte).toISOString() : '', order_by: order, page, page_size: PAGE_SIZE }));
  const [open, setOpen] = useState<number | undefined>();

  function setFilter(patch: Record<string, string>) {
    const next = new URLSearchParams(q);
    for (const [k, v] of Object.entries(patch)) { if (v) next.set(k, v); else next.delete(k); }
    if (!('page' in patch)) next.delete('page');
    const s = next.toString();
    navigate(`/activity_stream${s ? `?${s}` : ''}`, true);
  }

  return (
    <div>
      <div class="page-head"><h1>Activity stream</h1></div>
      <form class="filters card" onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget as HTMLFormElement);
        setFilter({ actor: String(f.get('actor') ?? ''), since: String(f.get('since') ?? '') });
      }}>
        <label>Object
          <select name="object1" value={params.object1} onChange={(e) => setFilter({ object1: (e.currentTarget as HTMLSelectElement).value })}>
            {OBJECTS.map((o) => <option value={o}>{o ? o.replace(/_/g, ' ') : 'any'}</option>)}
          </select>
        </label>
        <label>Operation
          <select name="operation" value={params.operation} onChange={(e) => setFilter({ operation: (e.currentTarget as HTMLSelectElement).value })}>
            {OPERATIONS.map((o) => <option value={o}>{o || 'any'}</option>)}
          </select>
        </label>
        <label>Actor<input name="actor" defaultValue={params.actor__username} placeholder="username" /></label>
        <label>Since<input name="since" type="datetime-local" defaultValue={params.timestamp__gte} /></label>
        <button type="submit" class="btn-small">Filter</button>
      </form>
      {!mayRead && <p class="muted">The activity stream is shown to superusers and system auditors only.</p>}
      {error && <div class="error">{error}</div>}
      {data && (
        <table class="table" data-testid="activity">
          <thead><tr>
            <SortHeader label="Time" field="timestamp" order={order} onOrder={(o) => setFilter({ order_by: o === '-timestamp' ? '' : o })} />
            <th>Actor</th>
            <SortHeader label="Operation" field="operation" order={order} onOrder={(o) => setFilter({ order_by: o })} />
            <SortHeader label="Object" field="object1" order={order} onOrder={(o) => setFilter({ order_by: o })} />
            <th>Related object</th><th />
          </tr></thead>
          <tbody>
            {data.results.map((a) => [
              <tr key={a.id} data-id={a.id}>
                <td>{formatTime(a.timestamp)}</td>
                <td>{a.summary_fields?.actor?.username ?? (a.actor ? `user ${a.actor}` : 'system')}</td>
                <td>{a.operation}</td>
                <td>{describe(a.object1, a.object1_id, a.summary_fields?.[a.object1])}</td>
                <td>{a.object2 ? describe(a.object2, a.object2_id, a.summary_fields?.[a.object2]) : '—'}{a.object_association ? ` (${a.object_association})` : ''}</td>
                <td><button type="button" class="btn-small" onClick={() => setOpen(open === a.id ? undefined : a.id)}>{open === a.id ? 'Hide' : 'Changes'}</button></td>
              </tr>,
              open === a.id && <tr key={`${a.id}-changes`} class="changes"><td colSpan={6}><pre>{JSON.stringify(a.changes ?? {}, null, 2)}</pre></td></tr>,
            ])}
            {data.results.length === 0 && <tr><td colSpan={6} class="muted">No activity matches.</td></tr>}
          </tbody>
        </table>
      )}
      {data && <Pager page={page} pageSize={PAGE_SIZE} count={data.count} onPage={(p) => setFilter({ page: String(p) })} />}
    </div>
  );
}

/** "job template 7 (Deploy)": the summary's name where the server gives one. */
function describe(kind: string, id: number | null, summary: unknown): string {
  const first = Array.isArray(summary) ? summary[0] : summary;
  const name = first && typeof first === 'object' ? (first as { name?: string; username?: string }).name ?? (first as { username?: string }).username : undefined;
  return `${kind.replace(/_/g, ' ')}${id ? ` ${id}` : ''}${name ? ` (${name})` : ''}`;
}
