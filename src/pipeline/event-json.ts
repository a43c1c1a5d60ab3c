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
 * The JSON text is one concatenation per kind, compiled once from the plan (`plan`: the
 * per-kind keys as literals, pino's genLsCache idea) with `event_data` spliced in from the
 * text the row stores, instead of building an object and JSON.stringify-ing it: a CPU
 * profile of the receiver under load had broadcast serialisation as its largest item when
 * it was built that way.
 */
interface Field {
  key: string;
  /** The value in the REST object. */
  value(r: EventRow, d: EventDataSource): unknown;
  /** A JS expression over `r` (the row) and `d` (EventDataSource) giving the value's JSON text (compiled below). */
  code: string;
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
/** A JS string literal of `s`, for generated code. */
const lit = (s: string) => JSON.stringify(s);

function columnField(c: EventColumn, key: string): Field {
  if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) throw new Error(`event-row.ts: column name ${c.name} is not a plain identifier`);
  const get = (r: EventRow) => (r as unknown as Record<string, unknown>)[c.name];
  const at = `r.${c.name}`;
  switch (c.type) {
    case 'text': case 'time': return { key, value: get, code: `str(${at})` };
    case 'json': return { key, value: (_r, d) => eventData(d), code: at };
    case 'bool': return { key, value: get, code: `(${at} ? 'true' : 'false')` };
    default: return { key, value: get, code: c.nullable ? `(${at} === null ? 'null' : '' + ${at})` : `('' + ${at})` };
  }
}

function display(r: EventRow, d: EventDataSource): string {
  return eventDisplay(r.event, r.play, r.task, r.role, r.event === 'playbook_on_task_start' && !!eventData(d).is_conditional);
}

/** AWX's computed fields that follow column `after`. */
function computedFields(kind: JobKindInfo, after: string): Field[] {
  const jf = jobField(kind);
  const events = `/api/v2/${kind.eventTable}/`;
  const isJob = kind.kind === 'job';
  switch (after) {
    case 'id': return [
      { key: 'type', value: () => kind.eventType, code: lit(str(kind.eventType)) },
      { key: 'url', value: (r) => `${events}${r.id}/`, code: `${lit(`"${events}`)} + r.id + '/"'` },
      {
        key: 'related',
        value: (r) => {
          const o: Record<string, string> = { [jf]: `/api/v2/${kind.apiPath}/${r.job_id}/` };
          if (isJob) {
            o.children = `${events}${r.id}/children/`;
            if (r.host_id !== null) o.host = `/api/v2/hosts/${r.host_id}/`;
          }
          return o;
        },
        code: `${lit(`{${str(jf)}:"/api/v2/${kind.apiPath}/`)} + r.job_id + '/"'`
          + (isJob ? ` + ${lit(`,"children":"${events}`)} + r.id + '/children/"'`
            + ` + (r.host_id === null ? '' : ',"host":"/api/v2/hosts/' + r.host_id + '/"')` : '') + ` + '}'`,
      },
      {
        key: 'summary_fields',
        value: (r) => (r.host_id === null ? {} : { host: { id: r.host_id, name: r.host_name } }),
        code: `(r.host_id === null ? '{}' : '{"host":{"id":' + r.host_id + ',"name":' + str(r.host_name) + '}}')`,
      },
    ];
    case 'counter': return [{ key: 'event_display', value: display, code: 'str(display(r, d))' }];
    case 'event_data': return [{ key: 'event_level', value: (r) => eventType(r.event).level, code: `('' + eventType(r.event).level)` }];
    default: return [];
  }
}

interface Plan {
  fields: Field[];
  /** The websocket message's JSON text, as straight-line code built once per kind from `fields`. */
  json: (r: EventRow, d: EventDataSource) => string;
}

const plans = new Map<JobKindInfo, Plan>();

/**
 * The kind's fields, and its message writer compiled from them (pino's and
 * fast-json-stringify's approach: the per-field closures it replaces cost 3× as much per
 * event in bench:micro, 16 µs against 5.6 for the compiled form under the same load).
 */
function plan(kind: JobKindInfo): Plan {
  let p = plans.get(kind);
  if (!p) {
    const fields: Field[] = [];
    for (const c of EVENT_COLUMNS as readonly EventColumn[]) {
      if (c.api === null) continue;
      fields.push(columnField(c, c.api === 'job' ? jobField(kind) : c.api));
      fields.push(...computedFields(kind, c.name));
    }
    const body = fields.map((f, i) => `${lit(`${i ? ',' : '{'}${str(f.key)}:`)} + ${f.code}`).join('\n    + ');
    const source = `return function eventMessage(r, d) {\n  return ${body}\n    + ${lit(`,"group_name":${str(kind.eventGroup)}}`)};\n};`;
    const json = new Function('str', 'display', 'eventType', source)(str, display, eventType) as Plan['json'];
    p = { fields, json };
    plans.set(kind, p);
  }
  return p;
}

/** The REST object (what /api/v2/jobs/N/job_events/ lists). `data`: the row's event_data, parsed, if at hand. */
export function eventObject(row: EventRow, kind: JobKindInfo, data?: Record<string, unknown>): Record<string, unknown> {
  const d = { data, row };
  const out: Record<string, unknown> = {};
  for (const f of plan(kind).fields) out[f.key] = f.value(row, d);
  return out;
}

/** The websocket message (eventObject plus `group_name`) as JSON text. */
export function eventMessageJson(row: EventRow, kind: JobKindInfo, data?: Record<string, unknown>): string {
  return plan(kind).json(row, { data, row });
}
