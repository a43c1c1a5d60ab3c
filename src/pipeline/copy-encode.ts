import { ByteWriter } from './byte-writer.js';
import { EVENT_COLUMN_LIST, EVENT_COLUMNS, type EventColumn, type EventRow } from './event-row.js';

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
/** COPY's column list: the event row's columns (event-row.ts), in their order. */
export const COPY_COLUMN_LIST = EVENT_COLUMN_LIST;

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

/** The columns a COPY row starts with, written at flush (id, created, modified). */
const FLUSH_COLUMNS = 3;

/** A JS expression over `r` (the row) giving the column's COPY text (compiled below). */
function columnCode(c: EventColumn): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) throw new Error(`event-row.ts: column name ${c.name} is not a plain identifier`);
  const at = `r.${c.name}`;
  switch (c.type) {
    case 'text': return `escapeText(${at}, stats)`;
    case 'json': return `escapeJson(${at})`;
    case 'bool': return `(${at} ? 't' : 'f')`;
    // ISO 8601 text checked at parse (digits, punctuation, T, Z): nothing to escape.
    case 'time': return at;
    default: return c.nullable ? `(${at} === null ? '\\\\N' : ${at})` : at;
  }
}

if ((EVENT_COLUMNS as readonly EventColumn[]).slice(0, FLUSH_COLUMNS).map((c) => c.name).join() !== 'id,created,modified') {
  throw new Error('event-row.ts: a COPY row must start with id, created, modified');
}

/**
 * The part of a row that does not depend on the flush: every column after `modified`.
 * Encoded while the previous batch's COPY runs (prepare-batch.ts); at flush only
 * `copyRowPrefix` (id, created, modified) is put in front, so `modified` is still stamped
 * at flush and ids are still reserved in the flush's transaction.
 *
 * Compiled once from the column list into one concatenation (a loop over per-column
 * encoders cost 2.2× as much per event in bench:micro).
 */
export const encodeCopyRowBody = new Function('escapeText', 'escapeJson',
  `return function encodeCopyRowBody(r, stats) {\n  return ''\n    + ${(EVENT_COLUMNS as readonly EventColumn[]).slice(FLUSH_COLUMNS).map(columnCode).join(" + '\\t'\n    + ")} + '\\n';\n};`,
)(escapeCopyText, escapeCopyJson) as (row: EventRow, stats: EncodeStats) => string;

/** The flush-time columns of a row whose id, created and modified are set (store-batch.ts). */
export function copyRowPrefix(row: EventRow): string {
  return row.id + '\t' + row.created + '\t' + row.modified + '\t';
}

/**
 * A batch's COPY payload: each row's flush-time prefix (ASCII) and its prepared body,
 * encoded once, straight into one buffer (byte-writer.ts says why).
 */
export function copyPayload(rows: readonly { row: EventRow; body: string }[]): Buffer {
  let estimate = 0;
  for (const r of rows) estimate += r.body.length + 64;
  const out = new ByteWriter(Math.ceil(estimate * 1.1));
  for (const r of rows) out.ascii(copyRowPrefix(r.row)).write(r.body);
  return out.bytes();
}

/** One whole COPY text row (with its trailing newline) for a row whose every column is set. */
export function encodeCopyRow(row: EventRow, stats: EncodeStats): string {
  return copyRowPrefix(row) + encodeCopyRowBody(row, stats);
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
