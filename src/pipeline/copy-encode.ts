import { ByteWriter } from './byte-writer.js';
import type { ParsedEvent } from './parse-event.js';

/**
 * Rows in COPY's text format for the event tables. Text format, not binary: one escape
 * pass per string field is cheaper in V8 than building binary tuples, and the ceiling
 * measured for both on this machine is within 10% (issue 3's figures).
 *
 * Escaping: backslash, tab, newline and carriage return become `\\`, `\t`, `\n`, `\r`.
 * NUL cannot live in a Postgres text value: it is stripped and counted. Lone surrogates
 * (JSON `\ud800`) become U+FFFD when the row is written as UTF-8, so any input yields valid
 * UTF-8 and no event can fail its batch by its bytes.
 */
export const COPY_COLUMNS = ['id', 'created', 'modified', 'job_created', 'job_id', 'event', 'event_data', 'failed', 'changed',
  'uuid', 'parent_uuid', 'counter', 'stdout', 'verbosity', 'start_line', 'end_line', 'host_id', 'host_name', 'playbook',
  'play', 'role', 'task'] as const;

export const COPY_COLUMN_LIST = COPY_COLUMNS.join(', ');

export interface EncodeStats { nulStripped: number }

const NEEDS_ESCAPE = /[\\\t\n\r\0]/;

export function escapeCopyText(s: string, stats: EncodeStats): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  if (s.includes('\0')) {
    const stripped = s.replaceAll('\0', '');
    stats.nulStripped += s.length - stripped.length;
    s = stripped;
  }
  // Backslash first, so the escapes added after it are not doubled.
  return s.replaceAll('\\', '\\\\').replaceAll('\t', '\\t').replaceAll('\n', '\\n').replaceAll('\r', '\\r');
}

/**
 * escapeCopyText for JSON text written by JSON.stringify, which never holds a raw tab,
 * newline, carriage return or NUL (it writes them as \t, \n, \r, \u0000): only its
 * backslashes need doubling.
 */
export function escapeCopyJson(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

export interface RowContext {
  id: number;
  modified: string;
  jobCreated: string;
  hostId: number | null;
}

/**
 * The part of a row that does not depend on the flush: every column after `modified`.
 * Encoded while the previous batch's COPY runs (prepare-batch.ts); at flush only
 * `copyRowPrefix` (id, created, modified) is put in front, so `modified` is still stamped
 * at flush and ids are still reserved in the flush's transaction.
 */
export function encodeCopyRowBody(e: ParsedEvent, jobCreated: string, hostId: number | null, stats: EncodeStats): string {
  return jobCreated + '\t' + e.jobId + '\t'
    + escapeCopyText(e.event, stats) + '\t' + escapeCopyJson(e.eventDataText) + '\t' + (e.failed ? 't' : 'f') + '\t'
    + (e.changed ? 't' : 'f') + '\t' + escapeCopyText(e.uuid, stats) + '\t' + escapeCopyText(e.parentUuid, stats) + '\t'
    + e.counter + '\t' + escapeCopyText(e.stdout, stats) + '\t' + e.verbosity + '\t' + e.startLine + '\t' + e.endLine + '\t'
    + (hostId === null ? '\\N' : hostId) + '\t' + escapeCopyText(e.hostName, stats) + '\t'
    + escapeCopyText(e.playbook, stats) + '\t' + escapeCopyText(e.play, stats) + '\t' + escapeCopyText(e.role, stats) + '\t'
    + escapeCopyText(e.task, stats) + '\n';
}

/** The flush-time columns: id, created (the flush time when the runner's did not parse), modified. */
export function copyRowPrefix(id: number, created: string, modified: string): string {
  return id + '\t' + (created || modified) + '\t' + modified + '\t';
}

/**
 * A batch's COPY payload: each row's flush-time prefix (ASCII) and its prepared body,
 * encoded once, straight into one buffer (byte-writer.ts says why).
 */
export function copyPayload(rows: readonly { id: number; created: string; body: string }[], modified: string): Buffer {
  let estimate = 0;
  for (const r of rows) estimate += r.body.length + 64;
  const out = new ByteWriter(Math.ceil(estimate * 1.1));
  for (const r of rows) out.ascii(copyRowPrefix(r.id, r.created, modified)).write(r.body);
  return out.bytes();
}

/** One COPY text row (with its trailing newline) for a parsed, non-EOF event. */
export function encodeCopyRow(e: ParsedEvent, ctx: RowContext, stats: EncodeStats): string {
  return copyRowPrefix(ctx.id, e.created, ctx.modified) + encodeCopyRowBody(e, ctx.jobCreated, ctx.hostId, stats);
}

/** Reverses COPY text escaping of one field (for COPY TO readers: stdout assembly). */
export function unescapeCopyText(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\(.)/g, (_, c: string) => {
    switch (c) {
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      default: return c;
    }
  });
}
