import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { COPY_COLUMN_LIST, encodeCopyRow } from '../../src/pipeline/copy-encode.js';
import { parseEvent } from '../../src/pipeline/parse-event.js';
import { postgresBinDirs } from '../../src/services/system-packages.js';
import { eventJson, fixtureLines } from './producer.js';

/**
 * What the ingest benchmarks drive Playstream and its ceiling with: producer processes
 * pushing a job's events (bench:pipeline, loadtest:ingest), and `psql \copy` of the same rows.
 */

/**
 * Producer processes: the running bundle re-run as `<script> producer ...` (its entry must
 * hand that to producer.ts's runProducer). Each builds its events, reports ready, pushes on
 * 'go', and reports its CPU (pushing, and its whole life) when done.
 */
export class Producers {
  /** CPU seconds spent pushing, all producers so far. */
  pushingCpu = 0;
  /** CPU seconds over their whole lives (building the payloads included): what reaped-children CPU counts. */
  totalCpu = 0;

  constructor(private readonly script: string, private readonly count: number) {}

  /** Starts them on events 1..n of `jobId` at `rate` events/s in all (0: as fast as they can); t0 is the 'go'. */
  async start(redisUrl: string, queue: string, jobId: number, n: number, rate: number): Promise<{ t0: number; done: Promise<void> }> {
    const per = Math.ceil(n / this.count);
    const children = Array.from({ length: this.count }, (_, p) => spawn(process.execPath, [this.script, 'producer', redisUrl, queue, String(jobId),
      String(p * per + 1), String(Math.min(n, (p + 1) * per)), String(rate / this.count)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const done = Promise.all(children.map((child) => new Promise<void>((resolve, reject) => {
      child.on('message', (m: { cpu?: number; total?: number }) => {
        if (typeof m.cpu === 'number') this.pushingCpu += m.cpu;
        if (typeof m.total === 'number') this.totalCpu += m.total;
      });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`producer exited ${code}`))));
    }))).then(() => undefined);
    await Promise.all(children.map((child) => new Promise<void>((resolve) => child.once('message', () => resolve()))));
    const t0 = performance.now();
    for (const child of children) child.send('go');
    return { t0, done };
  }
}

/**
 * The rows the producers' events 1..n of `job` become, encoded by the receiver's own COPY
 * encoder (without the id column), written to `parts` files in `dir` for `psqlCopy`.
 */
export function writeCopyFiles(dir: string, job: { id: number; createdIso: string }, n: number, parts: number): string[] {
  const stats = { nulStripped: 0, invalidUtf8: 0, badCreated: 0 };
  const fixtures = fixtureLines();
  const per = Math.ceil(n / parts);
  const files: string[] = [];
  for (let w = 0; w < parts; w++) {
    const lines: string[] = [];
    for (let c = w * per + 1; c <= Math.min(n, (w + 1) * per); c++) {
      const e = parseEvent(Buffer.from(eventJson(fixtures, job.id, c)), stats);
      if (!e.ok) throw new Error('bad bench event');
      const modified = new Date().toISOString();
      Object.assign(e.row, { id: 0, modified, created: e.row.created || modified, job_created: job.createdIso, host_id: null });
      lines.push(encodeCopyRow(e.row, stats).replace(/^0\t/, ''));
    }
    const f = path.join(dir, `copy-${job.id}-${w}.txt`);
    fs.writeFileSync(f, lines.join(''));
    files.push(f);
  }
  return files;
}

/** The psql of the Postgres the embedded server runs. */
export function psqlPath(): string {
  return postgresBinDirs().map((d) => path.join(d, 'psql')).find((p) => fs.existsSync(p)) ?? 'psql';
}

/** psql's `\copy` of one file of writeCopyFiles's rows into `table` (no id column: the table's sequence gives it). */
export function psqlCopyCommand(table: string, file: string): string {
  return `\\copy ${table} (${COPY_COLUMN_LIST.replace(/^id, /, '')}) FROM '${file}'`;
}

/** One `psql \copy` per file into `table`, all in parallel; resolves with the milliseconds they took. */
export async function psqlCopy(databaseUrl: string, table: string, files: string[]): Promise<number> {
  const psql = psqlPath();
  const t0 = performance.now();
  await Promise.all(files.map((f) => promisify(execFile)(psql, [databaseUrl, '-q', '-c', psqlCopyCommand(table, f)])));
  return performance.now() - t0;
}
