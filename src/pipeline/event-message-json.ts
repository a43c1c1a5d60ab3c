import type { JobKindInfo } from '../db/job-kinds.js';
import { jobField } from './event-serializer.js';
import { eventDisplay, eventType } from './event-types.js';

/**
 * The websocket event message (event-serializer.ts `serializeEvent` plus `group_name`) as
 * JSON text, written field by field with the per-kind constant parts computed once
 * (pino's genLsCache idea) and `event_data` spliced in from the text the row stores,
 * instead of building an object and JSON.stringify-ing it with a re-walk of the parsed
 * event_data. A CPU profile of the receiver under load had broadcast serialisation as its
 * largest item (JSON.stringify of ~1 KB nested objects, then the UTF-8 write); this form
 * parses back to exactly serializeEvent's object (tests/pipeline/event-message-json.test.ts).
 */
export interface EventMessageFields {
  id: number;
  created: string;
  modified: string;
  jobId: number;
  event: string;
  counter: number;
  /** event_data as JSON text (what the row stores). */
  eventDataText: string;
  eventData: Record<string, unknown>;
  failed: boolean;
  changed: boolean;
  uuid: string;
  parentUuid: string;
  hostId: number | null;
  hostName: string;
  playbook: string;
  play: string;
  role: string;
  task: string;
  stdout: string;
  startLine: number;
  endLine: number;
  verbosity: number;
}

interface KindParts {
  urlPrefix: string;
  relatedJobKey: string;
  isJob: boolean;
  jobKey: string;
  groupName: string;
}

const parts = new Map<JobKindInfo, KindParts>();

function kindParts(kind: JobKindInfo): KindParts {
  let p = parts.get(kind);
  if (!p) {
    const jf = jobField(kind);
    p = {
      urlPrefix: `,"type":${JSON.stringify(kind.eventType)},"url":${JSON.stringify(`/api/v2/${kind.eventTable}/`).slice(0, -1)}`,
      relatedJobKey: `,"related":{${JSON.stringify(jf)}:${JSON.stringify(`/api/v2/${kind.apiPath}/`).slice(0, -1)}`,
      isJob: kind.kind === 'job',
      jobKey: `,${JSON.stringify(jf)}:`,
      groupName: `,"group_name":${JSON.stringify(kind.eventGroup)}}`,
    };
    parts.set(kind, p);
  }
  return p;
}

const str = JSON.stringify;

export function eventMessageJson(r: EventMessageFields, kind: JobKindInfo): string {
  const p = kindParts(kind);
  const url = `/api/v2/${kind.eventTable}/${r.id}/`;
  let s = '{"id":' + r.id + p.urlPrefix + r.id + '/"' + p.relatedJobKey + r.jobId + '/"';
  if (p.isJob) {
    s += ',"children":"' + url + 'children/"';
    if (r.hostId !== null) s += ',"host":"/api/v2/hosts/' + r.hostId + '/"';
  }
  s += '},"summary_fields":{';
  if (r.hostId !== null) s += '"host":{"id":' + r.hostId + ',"name":' + str(r.hostName) + '}';
  s += '},"created":' + str(r.created) + ',"modified":' + str(r.modified) + p.jobKey + r.jobId
    + ',"event":' + str(r.event) + ',"counter":' + r.counter
    + ',"event_display":' + str(eventDisplay(r.event, r.play, r.task, r.role, r.eventData))
    + ',"event_data":' + r.eventDataText + ',"event_level":' + eventType(r.event).level
    + ',"failed":' + r.failed + ',"changed":' + r.changed + ',"uuid":' + str(r.uuid) + ',"parent_uuid":' + str(r.parentUuid)
    + ',"host":' + r.hostId + ',"host_name":' + str(r.hostName) + ',"playbook":' + str(r.playbook) + ',"play":' + str(r.play)
    + ',"task":' + str(r.task) + ',"role":' + str(r.role) + ',"stdout":' + str(r.stdout) + ',"start_line":' + r.startLine
    + ',"end_line":' + r.endLine + ',"verbosity":' + r.verbosity + p.groupName;
  return s;
}
