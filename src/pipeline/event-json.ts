import type { JobKindInfo } from '../db/job-kinds.js';
import { EVENT_COLUMNS, type EventColumn, type EventRow } from './event-row.js';
import { eventDisplay, eventType } from './event-types.js';

/**
 * An event in AWX's API shape, derived from the row's columns (event-row.ts): the REST
 * object (/job_events/ lists: `eventObject`) and the websocket message, which is the same
 * object plus `group_name`, written as JSON text (`eventMessageJson`). Both walk one field
 * plan per job kind — each column under its API name, with AWX's computed fields (type,
 * url, related, summary_fields after id; event_display after counter; event_level after
 * event_data) — so a client sees the same object either way, and a column added to the
 * row reaches both.
 *
 * The JSON text is written field by field with the per-kind keys computed once (pino's
 * genLsCache idea) and `event_data` spliced in from the text the row stores, instead of
 * building an object and JSON.stringify-ing it: a CPU profile of the receiver under load
 * had broadcast serialisation as its largest item when it was built that way.
 */
interface Field {
  /** `"key":` (with a leading comma after the first field). */
  prefix: string;
  key: string;
  json(r: EventRow, d: EventDataSource): string;
  value(r: EventRow, d: EventDataSource): unknown;
}

/** The parsed event_data when the caller has it (the receiver does); parsed from the row otherwise, when needed. */
interface EventDataSource { data: Record<string, unknown> | undefined; row: EventRow }

function eventData(d: EventDataSource): Record<string, unknown> {
  if (d.data) return d.data;
  try { d.data = JSON.parse(d.row.event_data) as Record<string, unknown>; } catch { d.data = {}; }
  return d.data;
}

/** The job reference's name in the API: `job`, `project_update`, ... */
export function jobField(kind: JobKindInfo): string {
  return kind.refField.replace(/_id$/, '');
}

const str = JSON.stringify;

function columnField(c: EventColumn, key: string): Omit<Field, 'prefix'> {
  const get = (r: EventRow) => (r as unknown as Record<string, unknown>)[c.name];
  switch (c.type) {
    case 'text': case 'time': return { key, json: (r) => str(get(r)), value: get };
    case 'json': return { key, json: (r) => get(r) as string, value: (_r, d) => eventData(d) };
    default: return { key, json: (r) => String(get(r)), value: get };
  }
}

function computedFields(kind: JobKindInfo, after: string): Omit<Field, 'prefix'>[] {
  const jf = jobField(kind);
  const url = (r: EventRow) => `/api/v2/${kind.eventTable}/${r.id}/`;
  const display = (r: EventRow, d: EventDataSource) =>
    eventDisplay(r.event, r.play, r.task, r.role, r.event === 'playbook_on_task_start' && !!eventData(d).is_conditional);
  switch (after) {
    case 'id': {
      const related = (r: EventRow) => {
        const o: Record<string, string> = { [jf]: `/api/v2/${kind.apiPath}/${r.job_id}/` };
        if (kind.kind === 'job') {
          o.children = `${url(r)}children/`;
          if (r.host_id !== null) o.host = `/api/v2/hosts/${r.host_id}/`;
        }
        return o;
      };
      const summary = (r: EventRow) => (r.host_id === null ? {} : { host: { id: r.host_id, name: r.host_name } });
      return [
        { key: 'type', json: () => str(kind.eventType), value: () => kind.eventType },
        { key: 'url', json: (r) => str(url(r)), value: url },
        { key: 'related', json: (r) => str(related(r)), value: related },
        { key: 'summary_fields', json: (r) => str(summary(r)), value: summary },
      ];
    }
    case 'counter': return [{ key: 'event_display', json: (r, d) => str(display(r, d)), value: display }];
    case 'event_data': return [{ key: 'event_level', json: (r) => String(eventType(r.event).level), value: (r) => eventType(r.event).level }];
    default: return [];
  }
}

const plans = new Map<JobKindInfo, Field[]>();

function plan(kind: JobKindInfo): Field[] {
  let fields = plans.get(kind);
  if (!fields) {
    const list: Omit<Field, 'prefix'>[] = [];
    for (const c of EVENT_COLUMNS as readonly EventColumn[]) {
      if (c.api === null) continue;
      list.push(columnField(c, c.api === 'job' ? jobField(kind) : c.api));
      list.push(...computedFields(kind, c.name));
    }
    fields = list.map((f, i) => ({ ...f, prefix: `${i ? ',' : ''}${str(f.key)}:` }));
    plans.set(kind, fields);
  }
  return fields;
}

/** The REST object (what /api/v2/jobs/N/job_events/ lists). `data`: the row's event_data, parsed, if at hand. */
export function eventObject(row: EventRow, kind: JobKindInfo, data?: Record<string, unknown>): Record<string, unknown> {
  const d = { data, row };
  const out: Record<string, unknown> = {};
  for (const f of plan(kind)) out[f.key] = f.value(row, d);
  return out;
}

/** The websocket message (eventObject plus `group_name`) as JSON text. */
export function eventMessageJson(row: EventRow, kind: JobKindInfo, data?: Record<string, unknown>): string {
  const d = { data, row };
  let s = '{';
  for (const f of plan(kind)) s += f.prefix + f.json(row, d);
  return s + ',"group_name":' + str(kind.eventGroup) + '}';
}
