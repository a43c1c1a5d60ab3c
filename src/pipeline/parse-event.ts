import { isUtf8 } from 'node:buffer';
import { type JobKindInfo, jobKinds } from '../db/job-kinds.js';
import { type DerivedColumns, deriveColumns } from './derive.js';

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

export interface ParsedEvent extends DerivedColumns {
  ok: true;
  raw: Buffer;
  kind: JobKindInfo;
  jobId: number;
  isEof: boolean;
  /** EOF only. */
  finalCounter: number;
  event: string;
  counter: number;
  uuid: string;
  parentUuid: string;
  stdout: string;
  startLine: number;
  endLine: number;
  verbosity: number;
  /** ISO 8601 with zone ('Z' added when the runner sent none), or '' (use flush time). */
  created: string;
  createdMs: number;
  eventData: Record<string, unknown>;
  eventDataText: string;
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
  if (event === 'EOF') {
    const fc = e.final_counter ?? 0;
    if (!isInt(fc, 0)) return bad('wrong_type', 'final_counter must be a non-negative integer', raw, id);
    return {
      ok: true, raw, kind, jobId: id, isEof: true, finalCounter: fc, event, counter: 0, uuid: '', parentUuid: '', stdout: '',
      startLine: 0, endLine: 0, verbosity: 0, created: '', createdMs: Date.now(), eventData: {}, eventDataText: '{}',
      failed: false, changed: false, hostName: '', playbook: '', play: '', role: '', task: '',
    };
  }
  if (!isInt(e.counter, 0)) return bad('wrong_type', 'counter must be a non-negative 32-bit integer', raw, id);
  for (const f of ['stdout', 'uuid', 'parent_uuid', 'created'] as const) {
    if (e[f] !== undefined && e[f] !== null && typeof e[f] !== 'string') return bad('wrong_type', `${f} must be a string`, raw, id);
  }
  for (const f of ['start_line', 'end_line', 'verbosity'] as const) {
    if (e[f] !== undefined && e[f] !== null && !isInt(e[f], 0)) return bad('wrong_type', `${f} must be a non-negative integer`, raw, id);
  }
  const ed = e.event_data ?? {};
  if (typeof ed !== 'object' || ed === null || Array.isArray(ed)) return bad('wrong_type', 'event_data must be an object', raw, id);
  const eventData = ed as Record<string, unknown>;

  let created = (e.created as string | undefined) ?? '';
  let createdMs = NaN;
  const iso = created ? ISO_CREATED.exec(created) : null;
  if (iso) {
    if (!iso[2]) created += 'Z';
    createdMs = Date.parse(created);
  }
  if (Number.isNaN(createdMs)) {
    if (created) stats.badCreated++;
    created = '';
    createdMs = Date.now();
  }
  const d = deriveColumns(event, eventData);
  return {
    ok: true, raw, kind, jobId: id, isEof: false, finalCounter: 0, event, counter: e.counter as number,
    uuid: (e.uuid as string | undefined) ?? '', parentUuid: (e.parent_uuid as string | undefined) ?? '',
    stdout: (e.stdout as string | undefined) ?? '', startLine: (e.start_line as number | undefined) ?? 0,
    endLine: (e.end_line as number | undefined) ?? 0, verbosity: (e.verbosity as number | undefined) ?? 0,
    created, createdMs, eventData, eventDataText: JSON.stringify(eventData), ...d,
  };
}
