import { isUtf8 } from 'node:buffer';
import { type JobKindInfo, jobKinds } from '../db/job-kinds.js';
import { deriveColumns } from './derive.js';
import { emptyEventRow, type EventRow, RUNNER_COLUMNS } from './event-row.js';

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
  // The columns the runner sends as they are (event-row.ts `runner`): absent or null is the empty value.
  const r = row as unknown as Record<string, unknown>;
  for (const c of RUNNER_COLUMNS) {
    const v = e[c.name];
    if (v === undefined || v === null) continue;
    if (c.type === 'text' ? typeof v !== 'string' : c.type === 'int' ? !isInt(v, 0) : true) {
      return bad('wrong_type', `${c.name} must be ${c.type === 'text' ? 'a string' : 'a non-negative integer'}`, raw, id);
    }
    r[c.name] = v;
  }
  const ed = e.event_data ?? {};
  if (typeof ed !== 'object' || ed === null || Array.isArray(ed)) return bad('wrong_type', 'event_data must be an object', raw, id);
  const eventData = ed as Record<string, unknown>;
  row.event = event;
  row.counter = e.counter as number;
  row.event_data = JSON.stringify(eventData);

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
