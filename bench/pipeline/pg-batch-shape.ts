/**
 * Postgres's own CPU per row by COPY batch shape (`node scripts/bench.mjs
 * bench/pipeline/pg-batch-shape.ts bench-pg-batch-shape`): psql loads the bench's rows (the
 * fixture events, encoded by the receiver's encoder) into job_events, first as one COPY per
 * connection (the bench:pipeline ceiling), then as COPYs of BATCH rows, each its own
 * transaction, over 2 and 4 connections (the receiver's 2 workers with 1 or 2 stores in
 * flight). No receiver, Redis or Node in the path: what Postgres costs for the batch shape
 * the receiver writes, on the same embedded server and settings as bench:pipeline.
 * `ROWS` (default 200,000), `BATCH` (1000, the receiver's batch size), `ROUNDS` (2).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { treeCpuSeconds } from './cpu-accounting.js';
import { psqlCopyCommand, psqlPath, writeCopyFiles } from './drivers.js';
import { createBenchJob, startBenchStack } from './stack.js';

const ROWS = Number(process.env.ROWS ?? 200_000);
const BATCH = Number(process.env.BATCH ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);

const stack = await startBenchStack('pg-batch-shape', 2);
const { pg, pool } = stack;

/** Loads ROWS rows over `conns` connections in COPYs of `batch` rows; prints rows/s and Postgres µs per row. */
async function load(conns: number, batch: number): Promise<void> {
  const job = await createBenchJob(pool);
  // One file per COPY, dealt out to the connections in turn: each connection's psql runs its files' \copy one after another.
  const parts = writeCopyFiles(stack.dir, job, ROWS, Math.ceil(ROWS / batch));
  const scripts = Array.from({ length: conns }, () => [] as string[]);
  parts.forEach((f, k) => scripts[k % conns].push(psqlCopyCommand('job_events', f)));
  const files = scripts.map((s, c) => {
    const f = path.join(stack.dir, `script-${job.id}-${c}.sql`);
    fs.writeFileSync(f, `${s.join('\n')}\n`);
    return f;
  });
  const cpu0 = treeCpuSeconds(pg.pid);
  const t0 = performance.now();
  await Promise.all(files.map((f) => promisify(execFile)(psqlPath(), [pg.url, '-q', '-v', 'ON_ERROR_STOP=1', '-f', f])));
  const ms = performance.now() - t0;
  const perRow = ((treeCpuSeconds(pg.pid) - cpu0) * 1e6) / ROWS;
  console.log(`${String(conns).padStart(2)} connections, COPYs of ${String(batch).padStart(7)} rows: ${String(Math.round(ROWS / (ms / 1000))).padStart(6)} rows/s, postgres ${perRow.toFixed(1)} µs CPU/row`);
}

try {
  console.log(`machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${ROWS} rows a load`);
  for (let r = 1; r <= ROUNDS; r++) {
    console.log(`round ${r}`);
    await load(2, Math.ceil(ROWS / 2));
    await load(2, BATCH);
    await load(4, BATCH);
  }
} finally {
  await stack.stop();
}
process.exit(0);
