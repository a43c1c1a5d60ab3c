import type { JobKindInfo } from '../../db/job-kinds.js';
import { serializeEvent } from '../../pipeline/event-serializer.js';

/**
 * A stored event row as the websocket message the receiver announces for it (the
 * pipeline's serializeEvent plus `group_name`), so resumed events look exactly like live ones.
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
  let eventData: Record<string, unknown>;
  try { eventData = JSON.parse(row.event_data) as Record<string, unknown>; } catch { eventData = {}; }
  const message = serializeEvent({ ...row, event_data: eventData }, kind);
  message.group_name = kind.eventGroup;
  return message;
}
