import { StringDecoder } from 'node:string_decoder';
import pg from 'pg';
import pgCopy from 'pg-copy-streams';
import type { Pool } from '../db/pool.js';
import { unescapeCopyText } from './copy-encode.js';

/**
 * A job's stdout assembled from its events in start_line order and streamed: COPY … TO
 * STDOUT hands rows over as Postgres produces them, and `for await` pulls the next chunk
 * only after `write` has resolved (which waits for the HTTP socket to drain), so a 1 GB
 * stdout passes through in chunks of ~64 KB and never sits in memory.
 *
 * As in AWX, each event with output contributes its `stdout` plus a newline, and line
 * numbers are the events' start_line/end_line (0-based, end exclusive); [startLine,
 * endLine) selects lines, and only events overlapping it are read.
 */
export interface StdoutRange { start: number; end: number; absoluteEnd: number }

const ANSI = /\x1B\[[0-?]*[ -/]*[@-~]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

export async function streamStdout(pool: Pool, q: { table: string; jobId: number; jobCreated: string; startLine: number;
  endLine: number | null; stripAnsi: boolean }, write: (chunk: string) => Promise<void>): Promise<StdoutRange> {
  const { rows } = await pool.query<{ n: number | null }>(
    `SELECT max(end_line) AS n FROM ${q.table} WHERE job_id = $1 AND job_created = $2`, [q.jobId, q.jobCreated]);
  const absoluteEnd = rows[0].n ?? 0;
  const start = Math.max(0, q.startLine < 0 ? absoluteEnd + q.startLine : q.startLine);
  const end = q.endLine === null ? absoluteEnd : Math.min(q.endLine, absoluteEnd);
  const client = await pool.connect();
  const onError = () => {};
  client.on('error', onError);
  try {
    const sql = `COPY (SELECT start_line, stdout FROM ${q.table}
        WHERE job_id = ${Number(q.jobId)} AND job_created = ${pg.escapeLiteral(q.jobCreated)} AND stdout <> ''
          AND end_line > ${start} AND start_line < ${end} ORDER BY start_line, counter) TO STDOUT`;
    const stream = client.query(pgCopy.to(sql));
    // Rows are split at newlines only once whole: a chunk may end inside a row (one event
    // that printed megabytes spans many chunks) or inside a multi-byte character.
    const decoder = new StringDecoder('utf8');
    let parts: string[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const piece = decoder.write(chunk);
      const lastNl = piece.lastIndexOf('\n');
      if (lastNl < 0) { parts.push(piece); continue; }
      parts.push(piece.slice(0, lastNl));
      const text = parts.join('');
      parts = [piece.slice(lastNl + 1)];
      let out = '';
      for (const row of text.split('\n')) {
        const tab = row.indexOf('\t');
        const first = Number(row.slice(0, tab));
        const lines = (unescapeCopyText(row.slice(tab + 1)) + '\n').split(/(?<=\n)/);
        for (let i = 0; i < lines.length; i++) {
          const n = first + i;
          if (n >= start && n < end) out += q.stripAnsi ? stripAnsi(lines[i]) : lines[i];
        }
      }
      if (out) await write(out);
    }
    return { start, end, absoluteEnd };
  } finally {
    client.off('error', onError);
    client.release();
  }
}
