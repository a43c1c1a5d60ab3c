import type { Writable } from 'node:stream';
import type pg from 'pg';

/**
 * One simple-protocol Query of several statements whose `COPY … FROM STDIN` statements get
 * their data in the same socket write: Query, then for each COPY in the text (in order) one
 * CopyData and a CopyDone, corked into one write, answered in one round trip.
 *
 * The usual client (pg-copy-streams) sends the COPY, waits for Postgres' CopyInResponse, then
 * sends the data and the CopyDone in two more writes: two round trips and four writes for
 * one COPY. The receiver stores a batch as BEGIN, COPY and its jobs' row lock (store-batch.ts);
 * at a steady few thousand events per second each batch is a few dozen events, and those
 * round trips and wake-ups, not the rows, were most of its CPU (docs/benchmarks.md).
 *
 * Sending the data ahead is what the protocol allows: Postgres reads CopyData from its input
 * once the COPY starts, and when a statement fails (before or during the copy) it answers
 * ErrorResponse, skips the rest of the Query, and drops the CopyData and CopyDone messages
 * that follow ("any subsequent CopyData, CopyDone, or CopyFail messages issued by the
 * frontend will simply be dropped", protocol-flow, COPY operations), so the connection
 * stays in step. tests/pipeline/copy-script.test.ts checks both failures.
 *
 * Results: each statement's command tag and, for those returning rows, their rows as text
 * (Postgres' text output; no type parsing).
 */
export interface ScriptStatement {
  tag: string;
  rows: (string | null)[][];
}

const QUERY = 0x51; // 'Q'
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]); // 'c', length 4

function header(type: number, bodyLength: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = type;
  h.writeUInt32BE(bodyLength + 4, 1);
  return h;
}

interface Settle {
  resolve: (r: ScriptStatement[]) => void;
  reject: (e: Error) => void;
}

/** What node-postgres calls on a submittable (client.js): the submit, then one handler per backend message. */
class CopyScript {
  readonly #sql: Buffer;
  readonly #copies: readonly Buffer[];
  readonly #done: Settle;
  readonly #out: ScriptStatement[] = [];
  #rows: (string | null)[][] = [];

  constructor(sql: string, copies: readonly Buffer[], done: Settle) {
    this.#sql = Buffer.from(sql + '\0', 'utf8');
    this.#copies = copies;
    this.#done = done;
  }

  submit(connection: pg.Connection): void {
    const s = connection.stream as unknown as Writable;
    s.cork();
    s.write(header(QUERY, this.#sql.length));
    s.write(this.#sql);
    for (const data of this.#copies) {
      if (data.length) {
        s.write(header(COPY_DATA, data.length));
        s.write(data);
      }
      s.write(COPY_DONE);
    }
    s.uncork();
  }

  /** node-postgres wires its query_timeout through this; the promise is the real callback. */
  callback(): void {}

  handleRowDescription(): void {}

  handleDataRow(msg: { fields: (string | null)[] }): void {
    this.#rows.push(msg.fields);
  }

  handleCommandComplete(msg: { text: string }): void {
    this.#out.push({ tag: msg.text, rows: this.#rows });
    this.#rows = [];
  }

  handleEmptyQuery(): void {}

  /** The data went with the Query: nothing to send when Postgres asks for it. */
  handleCopyInResponse(): void {}

  handleCopyData(): void {}

  handlePortalSuspended(): void {}

  /** After an ErrorResponse the client stops routing messages here, so the error settles the script. */
  handleError(err: Error): void {
    this.#done.reject(err);
  }

  handleReadyForQuery(): void {
    this.#done.resolve(this.#out);
  }
}

/**
 * Runs `sql` (statements separated by `;`, no parameters) with `copies[i]` as the data of
 * its i-th `COPY … FROM STDIN`. Rejects with Postgres' error (its `code` set, as a query's)
 * when any statement fails; inside an explicit transaction the caller then rolls back.
 */
export function runCopyScript(client: pg.ClientBase, sql: string, copies: readonly Buffer[] = []): Promise<ScriptStatement[]> {
  return new Promise((resolve, reject) => {
    client.query(new CopyScript(sql, copies, { resolve, reject }));
  });
}
