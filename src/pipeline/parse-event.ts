import { isUtf8 } from 'node:buffer';
import { type JobKindInfo, jobKinds } from '../db/job-kinds.js';
import { deriveColumns } from './derive.js';
import { emptyEventRow, type EventRow, RUNNER_COLUMNS } from './event-row.js';
import { objectMemberText } from './json-slice.js';

/**
 * Turns one raw Redis item (bytes) into a ParsedEvent ready to encode, or a BadEvent with a
 * stable reason code for the dead-letter store. Never throws: the hot path degrades and
 * counts (invalid UTF-8 is decoded with U+FFFD replacement and counted; a `created` that
 * does not parse becomes the flush time, counted) and only rejects what cannot be stored.
 */
export type BadEventCode = 'invalid_json' | 'no_job_reference' | 'unknown_job' | 'wrong_type' | 'store_failed';

export interface BadEvent {
  ok: false;
  code: BadEventCode;
  reason: string;
  raw: Buffer;
  jobId: number | null;
}

export interface ParsedEvent {
  ok: true;
  raw: Buffer;
  kind: JobKindInfo;
  jobId: number;
  isEof: boolean;
  /** EOF only. */
  finalCounter: number;
  /**
   * The row to store: every `runner`, `parse` and `derived` column set here, job_id too;
   * job_created and host_id at prepare, id and modified at each store attempt. `created` is
   * ISO 8601 with a zone ('Z' added when the runner sent none), or '' when it did not parse:
   * then `flushCreated`, and each store attempt sets it to its `modified`.
   */
  row: EventRow;
  flushCreated: boolean;
  /** When the runner created the event (epoch ms; the parse time when `created` did not parse). */
  createdMs: number;
  /** event_data as parsed (derive.ts and the websocket message's event_display read it). */
  eventData: Record<string, unknown>;
}

export interface ParseStats { invalidUtf8: number; badCreated: number }

// Checked in this order; a producer sends exactly one.
const REF_FIELDS: [string, JobKindInfo][] = Object.values(jobKinds).map((k) => [k.refField, k]);
const INT32_MAX = 2_147_483_647;
// ISO 8601 as runners write it (Python's isoformat(): no zone means UTC). Anything else
// counts as a bad `created`: the COPY row writes this text unescaped, as ASCII.
// Group 2 is the zone.
const ISO_CREATED = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d(:?\d\d)?)?$/;

/**
 * Copies the columns the runner sends as they are (event-row.ts `runner`) from the wire
 * event to the row, absent or null staying empty; returns what is wrong with one, or ''.
 * Compiled once from the column list: a loop with a computed key per column made every
 * property access megamorphic.
 */
const copyRunnerColumns = new Function('isInt', `return function copyRunnerColumns(e, r) {\n  let v;\n${RUNNER_COLUMNS.map((c) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) throw new Error(`event-row.ts: column name ${c.name} is not a plain identifier`);
  const check = c.type === 'text' ? "typeof v !== 'string'" : c.type === 'int' ? '!isInt(v, 0)' : 'true';
  const what = c.type === 'text' ? 'a string' : 'a non-negative integer';
  return `  v = e.${c.name};\n  if (v !== undefined && v !== null) {\n    if (${check}) return ${JSON.stringify(`${c.name} must be ${what}`)};\n    r.${c.name} = v;\n  }\n`;
}).join('')}  return '';\n};`)(isInt) as (e: Record<string, unknown>, row: EventRow) => string;

function bad(code: BadEventCode, reason: string, raw: Buffer, jobId: number | null = null): BadEvent {
  return { ok: false, code, reason, raw, jobId };
}

function isInt(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= INT32_MAX;
}

export function parseEvent(raw: Buffer, stats: ParseStats): ParsedEvent | BadEvent {
  // Invalid sequences decode to U+FFFD. U+FFFD is rare in real output: only then pay for
  // the full validity check that tells a replaced byte from a genuine U+FFFD.
  const text = raw.toString('utf8');
  if (text.includes('\uFFFD') && !isUtf8(raw)) stats.invalidUtf8++;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    return bad('invalid_json', `invalid JSON: ${(err as Error).message}`, raw);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return bad('invalid_json', 'event is not a JSON object', raw);
  const e = obj as Record<string, unknown>;

  let kind: JobKindInfo | undefined;
  let ref: unknown;
  for (const [field, k] of REF_FIELDS) {
    if (e[field] !== undefined && e[field] !== null) { kind = k; ref = e[field]; break; }
  }
  if (!kind) return bad('no_job_reference', `no job reference (${REF_FIELDS.map(([f]) => f).join(' | ')})`, raw);
  const jobId = typeof ref === 'string' && /^\d{1,15}$/.test(ref) ? Number(ref) : ref;
  if (typeof jobId !== 'number' || !Number.isSafeInteger(jobId) || jobId < 1) {
    return bad('wrong_type', `${kind.refField} must be a positive integer`, raw);
  }
  const id = jobId as number;

  const event = e.event;
  if (typeof event !== 'string' || event === '') return bad('wrong_type', 'event must be a non-empty string', raw, id);
  const row = emptyEventRow();
  row.job_id = id;
  if (event === 'EOF') {
    const fc = e.final_counter ?? 0;
    if (!isInt(fc, 0)) return bad('wrong_type', 'final_counter must be a non-negative integer', raw, id);
    row.event = event;
    return { ok: true, raw, kind, jobId: id, isEof: true, finalCounter: fc, row, flushCreated: true, createdMs: Date.now(), eventData: {} };
  }
  if (!isInt(e.counter, 0)) return bad('wrong_type', 'counter must be a non-negative 32-bit integer', raw, id);
  const created = e.created;
  if (created !== undefined && created !== null && typeof created !== 'string') return bad('wrong_type', 'created must be a string', raw, id);
  const wrong = copyRunnerColumns(e, row);
  if (wrong) return bad('wrong_type', wrong, raw, id);
  const ed = e.event_data ?? {};
  if (typeof ed !== 'object' || ed === null || Array.isArray(ed)) return bad('wrong_type', 'event_data must be an object', raw, id);
  const eventData = ed as Record<string, unknown>;
  row.event = event;
  row.counter = e.counter as number;
  // As the runner wrote it (parsed once, never re-encoded), when it can be cut out as it is.
  row.event_data = (e.event_data ? objectMemberText(text, 'event_data') : undefined) ?? JSON.stringify(eventData);

  let createdMs = NaN;
  const iso = created ? ISO_CREATED.exec(created) : null;
  if (iso) {
    row.created = iso[2] ? created! : created + 'Z';
    createdMs = Date.parse(row.created);
  }
  const flushCreated = Number.isNaN(createdMs);
  if (flushCreated) {
    if (created) stats.badCreated++;
    row.created = '';
    createdMs = Date.now();
  }
  deriveColumns(row, eventData);
  return { ok: true, raw, kind, jobId: id, isEof: false, finalCounter: 0, row, flushCreated, createdMs, eventData };
}
