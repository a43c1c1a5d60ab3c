import type { Page } from '../api.js';
import { formatTime } from '../components/format.js';
import { useFetch } from '../components/use-fetch.js';
import type { JobEvent } from './event-store.js';

/**
 * The panel a click on an output line opens (AWX's "host event" modal): the event behind the
 * line, read by its counter (one indexed request), with its host, play, task, the module and
 * its arguments, and the module's result (`event_data.res`) as JSON.
 */
interface FullEvent extends JobEvent { host_name?: string; role?: string; changed?: boolean; event_display?: string }

export function EventDetail(props: { eventsUrl: string; counter: number; onClose: () => void }) {
  const { data, error } = useFetch<Page<FullEvent>>(`${props.eventsUrl}?counter=${props.counter}`);
  const ev = data?.results[0];
  const d = (ev?.event_data ?? {}) as Record<string, any>;
  const res = d.res;
  const module = d.resolved_action ?? d.task_action;
  return (
    <aside class="event-detail card" role="complementary" aria-label="Event detail" data-testid="event-detail" data-counter={props.counter}>
      <div class="table-head">
        <h2>{ev ? ev.event_display || ev.event : `Event ${props.counter}`}</h2>
        <span class="spacer" />
        <button type="button" class="btn-small" onClick={props.onClose} aria-label="Close">✕</button>
      </div>
      {error && <div class="error">{error}</div>}
      {!ev && !error && <div class="muted">{data ? 'This event is no longer stored.' : 'Loading…'}</div>}
      {ev && (
        <div>
          <dl class="event-fields">
            <dt>Event</dt><dd data-field="event">{ev.event}</dd>
            <dt>Counter</dt><dd>{ev.counter}</dd>
            <dt>Created</dt><dd>{formatTime(ev.created)}</dd>
            {ev.host_name && <><dt>Host</dt><dd data-field="host">{ev.host_name}</dd></>}
            {ev.play && <><dt>Play</dt><dd>{ev.play}</dd></>}
            {ev.task && <><dt>Task</dt><dd data-field="task">{ev.task}</dd></>}
            {ev.role && <><dt>Role</dt><dd>{ev.role}</dd></>}
            {module && <><dt>Module</dt><dd data-field="module">{module}</dd></>}
            {d.task_args && <><dt>Arguments</dt><dd>{String(d.task_args)}</dd></>}
            <dt>Status</dt><dd>{ev.failed ? 'failed' : ev.changed ? 'changed' : 'ok'}</dd>
          </dl>
          {res !== undefined && <><h3>Result</h3><pre class="event-json" data-field="result">{JSON.stringify(res, null, 2)}</pre></>}
          {res === undefined && Object.keys(d).length > 0 && <><h3>Event data</h3><pre class="event-json">{JSON.stringify(d, null, 2)}</pre></>}
        </div>
      )}
    </aside>
  );
}
