import type { JobKindInfo } from '../../db/job-kinds.js';

/**
 * A stored event row as the websocket message AWX sends for it (its
 * JobEventWebSocketSerializer: the event's API fields plus `group_name` and `event_name`),
 * so resumed events look exactly like live ones.
 */
export const EVENT_COLUMNS = `id, created, modified, job_id, event, event_data, failed, changed, uuid, parent_uuid,
  counter, stdout, verbosity, start_line, end_line, host_id, host_name, playbook, play, role, task`;

export interface EventRow {
  id: number; created: Date; modified: Date; job_id: number; event: string; event_data: string;
  failed: boolean; changed: boolean; uuid: string; parent_uuid: string; counter: number; stdout: string;
  verbosity: number; start_line: number; end_line: number; host_id: number | null; host_name: string;
  playbook: string; play: string; role: string; task: string;
}

export function eventMessageFromRow(kind: JobKindInfo, row: EventRow): Record<string, unknown> {
  let eventData: unknown;
  try { eventData = JSON.parse(row.event_data); } catch { eventData = {}; }
  return {
    id: row.id, type: kind.eventType, created: row.created.toISOString(), modified: row.modified.toISOString(),
    [kind.refField.replace(/_id$/, '')]: row.job_id, event: row.event, counter: row.counter, event_data: eventData,
    failed: row.failed, changed: row.changed, uuid: row.uuid, parent_uuid: row.parent_uuid, host: row.host_id,
    host_name: row.host_name, playbook: row.playbook, play: row.play, role: row.role, task: row.task,
    stdout: row.stdout, verbosity: row.verbosity, start_line: row.start_line, end_line: row.end_line,
    group_name: kind.eventGroup, event_name: row.event,
  };
}
