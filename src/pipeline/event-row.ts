/**
 * The one description of a stored job event: its columns, in one list, from which every
 * output is derived — the row type (EventRow), the COPY row and column list
 * (copy-encode.ts), the websocket message and the REST object (event-json.ts), the reading
 * of a stored row back (eventRowFromDb) and, for columns the runner sends as they are, the
 * parse (parse-event.ts). Adding a column here (and to the tables, in a migration) is the
 * whole change: tests/pipeline/event-row.test.ts follows every column to COPY, websocket
 * and REST.
 *
 * Per column:
 * - `type`: `int` (a non-negative 32-bit integer), `id` (bigint; `null` allowed when
 *   `nullable`), `text`, `bool`, `json` (JSON text, stored as text), `time` (ISO 8601 text).
 * - `source`: where the receiver gets it. `runner`: the wire event's field of the same
 *   name, checked against `type`, absent → '' or 0 (parse-event.ts copies these without
 *   naming them); `parse`: read by parse-event.ts with its own rules (event, counter,
 *   created, event_data); `derived`: computed from event_data (derive.ts); `store`: set by
 *   the receiver (id and modified at flush, job_id, job_created, host_id from the job).
 * - `api`: its name in AWX's API and websocket shape (`job` stands for the kind's job field,
 *   `job`, `project_update`, ...), or null when the API does not show it.
 *
 * The order is AWX's API order (event-json.ts inserts the computed fields where AWX has
 * them); COPY names its columns, so it takes the same order. `id`, `created`, `modified`
 * come first: they are the flush-time prefix of a COPY row (copy-encode.ts).
 */
export type ColumnType = 'int' | 'id' | 'text' | 'bool' | 'json' | 'time';
export type ColumnSource = 'runner' | 'parse' | 'derived' | 'store';

export interface EventColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly source: ColumnSource;
  readonly api: string | null;
  readonly nullable?: boolean;
}

export const EVENT_COLUMNS = [
  { name: 'id', type: 'id', source: 'store', api: 'id' },
  { name: 'created', type: 'time', source: 'parse', api: 'created' },
  { name: 'modified', type: 'time', source: 'store', api: 'modified' },
  { name: 'job_created', type: 'time', source: 'store', api: null },
  { name: 'job_id', type: 'id', source: 'store', api: 'job' },
  { name: 'event', type: 'text', source: 'parse', api: 'event' },
  { name: 'counter', type: 'int', source: 'parse', api: 'counter' },
  { name: 'event_data', type: 'json', source: 'parse', api: 'event_data' },
  { name: 'failed', type: 'bool', source: 'derived', api: 'failed' },
  { name: 'changed', type: 'bool', source: 'derived', api: 'changed' },
  { name: 'uuid', type: 'text', source: 'runner', api: 'uuid' },
  { name: 'parent_uuid', type: 'text', source: 'runner', api: 'parent_uuid' },
  { name: 'host_id', type: 'id', source: 'store', api: 'host', nullable: true },
  { name: 'host_name', type: 'text', source: 'derived', api: 'host_name' },
  { name: 'playbook', type: 'text', source: 'derived', api: 'playbook' },
  { name: 'play', type: 'text', source: 'derived', api: 'play' },
  { name: 'task', type: 'text', source: 'derived', api: 'task' },
  { name: 'role', type: 'text', source: 'derived', api: 'role' },
  { name: 'stdout', type: 'text', source: 'runner', api: 'stdout' },
  { name: 'start_line', type: 'int', source: 'runner', api: 'start_line' },
  { name: 'end_line', type: 'int', source: 'runner', api: 'end_line' },
  { name: 'verbosity', type: 'int', source: 'runner', api: 'verbosity' },
] as const satisfies readonly EventColumn[];

type Column = (typeof EVENT_COLUMNS)[number];
type ValueOf<C extends EventColumn> = C['type'] extends 'int' | 'id'
  ? (C extends { nullable: true } ? number | null : number)
  : C['type'] extends 'bool' ? boolean : string;

/** One stored event: a property per column, named as the column. `event_data` is JSON text. */
export type EventRow = { -readonly [C in Column as C['name']]: ValueOf<C> };
export type EventColumnName = Column['name'];

const columns: readonly EventColumn[] = EVENT_COLUMNS;

/** `id, created, modified, ...`: the column list for COPY and SELECT. */
export const EVENT_COLUMN_LIST = columns.map((c) => c.name).join(', ');

/** Columns the runner sends under the column's own name, copied by parse-event.ts. */
export const RUNNER_COLUMNS: readonly EventColumn[] = columns.filter((c) => c.source === 'runner');

function emptyValue(c: EventColumn): unknown {
  if (c.nullable) return null;
  switch (c.type) {
    case 'int': case 'id': return 0;
    case 'bool': return false;
    case 'json': return '{}';
    default: return '';
  }
}

const TEMPLATE = Object.fromEntries(columns.map((c) => [c.name, emptyValue(c)])) as EventRow;

/** A row with every column at its empty value (one object shape for every row). */
export function emptyEventRow(): EventRow {
  return { ...TEMPLATE };
}

/**
 * A row as node-postgres returns it (`SELECT *` or EVENT_COLUMN_LIST; timestamps as Date,
 * bigints as numbers by db/pool.ts's parser) as an EventRow. Other columns are ignored.
 */
export function eventRowFromDb(r: Record<string, unknown>): EventRow {
  const row = emptyEventRow() as Record<string, unknown>;
  for (const c of columns) {
    const v = r[c.name];
    if (v === undefined) continue;
    row[c.name] = c.type === 'time' && v instanceof Date ? v.toISOString() : v;
  }
  return row as EventRow;
}
