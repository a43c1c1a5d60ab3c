import type { JobKindInfo } from '../db/job-kinds.js';
import { eventDisplay, eventType } from './event-types.js';

/**
 * An event in AWX's API shape (the /job_events/ list and, with `group_name`, the websocket
 * message). One function for both, so a client sees the same object either way.
 */
export interface EventRowFields {
  id: number;
  created: string | Date;
  modified: string | Date;
  job_id: number;
  event: string;
  event_data: Record<string, unknown>;
  failed: boolean;
  changed: boolean;
  uuid: string;
  parent_uuid: string;
  counter: number;
  stdout: string;
  verbosity: number;
  start_line: number;
  end_line: number;
  host_id: number | null;
  host_name: string;
  playbook: string;
  play: string;
  role: string;
  task: string;
}

const iso = (v: string | Date) => (typeof v === 'string' ? v : v.toISOString());

/** The job reference's name in the API: `job`, `project_update`, ... */
export function jobField(kind: JobKindInfo): string {
  return kind.refField.replace(/_id$/, '');
}

export function serializeEvent(r: EventRowFields, kind: JobKindInfo): Record<string, unknown> {
  const jf = jobField(kind);
  const url = `/api/v2/${kind.eventTable}/${r.id}/`;
  const related: Record<string, string> = { [jf]: `/api/v2/${kind.apiPath}/${r.job_id}/` };
  if (kind.kind === 'job') {
    related.children = `${url}children/`;
    if (r.host_id !== null) related.host = `/api/v2/hosts/${r.host_id}/`;
  }
  const summary: Record<string, unknown> = {};
  if (r.host_id !== null) summary.host = { id: r.host_id, name: r.host_name };
  return {
    id: r.id, type: kind.eventType, url, related, summary_fields: summary,
    created: iso(r.created), modified: iso(r.modified), [jf]: r.job_id, event: r.event, counter: r.counter,
    event_display: eventDisplay(r.event, r.play, r.task, r.role, r.event_data), event_data: r.event_data,
    event_level: eventType(r.event).level, failed: r.failed, changed: r.changed, uuid: r.uuid, parent_uuid: r.parent_uuid,
    host: r.host_id, host_name: r.host_name, playbook: r.playbook, play: r.play, task: r.task, role: r.role,
    stdout: r.stdout, start_line: r.start_line, end_line: r.end_line, verbosity: r.verbosity,
  };
}
