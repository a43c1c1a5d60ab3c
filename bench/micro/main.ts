/**
 * Micro-benchmarks of the receiver's per-event hot functions (`npm run bench:micro`), on
 * the recorded runner fixture (~1 KB events). JSON.parse of the same bytes is the baseline
 * each figure is compared to: it is the floor any receiver pays.
 */
import fs from 'node:fs';
import { Bench } from 'tinybench';
import { jobKinds } from '../../src/db/job-kinds.js';
import { sharedFixture } from '../../src/paths.js';
import { encodeCopyRow } from '../../src/pipeline/copy-encode.js';
import { deriveColumns } from '../../src/pipeline/derive.js';
import { eventMessageJson, eventObject } from '../../src/pipeline/event-json.js';
import { type ParsedEvent, parseEvent } from '../../src/pipeline/parse-event.js';

const lines = fs.readFileSync(process.env.BENCH_FIXTURE ?? sharedFixture('runner-events.jsonl'), 'utf8').trim().split('\n');
const raws = lines.map((l) => Buffer.from(JSON.stringify({ ...JSON.parse(l), job_id: 42 })));
const stats = { invalidUtf8: 0, badCreated: 0, nulStripped: 0 };
const parsed = raws.map((r) => parseEvent(r, stats) as ParsedEvent);
const modified = new Date().toISOString();
for (const e of parsed) Object.assign(e.row, { id: 1, modified, created: e.row.created || modified, job_created: '2026-01-01T00:00:00.000000Z', host_id: 7 });
let i = 0;
const next = () => (i = (i + 1) % raws.length);

const bench = new Bench({ time: 1000 });
bench
  .add('baseline: JSON.parse(bytes)', () => { JSON.parse(raws[next()].toString('utf8')); })
  .add('parseEvent (decode, validate, derive, event_data text)', () => { parseEvent(raws[next()], stats); })
  .add('deriveColumns', () => { const e = parsed[next()]; deriveColumns({ ...e.row }, e.eventData); })
  .add('encodeCopyRow', () => { encodeCopyRow(parsed[next()].row, stats); })
  .add('eventObject (REST shape)', () => { const e = parsed[next()]; eventObject(e.row, jobKinds.job, e.eventData); })
  .add('eventObject + JSON.stringify (emit before 7f2cefd)', () => {
    const e = parsed[next()];
    JSON.stringify({ ...eventObject(e.row, jobKinds.job, e.eventData), group_name: 'job_events' });
  })
  .add('eventMessageJson (emit now)', () => { const e = parsed[next()]; eventMessageJson(e.row, jobKinds.job, e.eventData); });
await bench.run();
const base = bench.tasks[0].result!;
const ns = (t: typeof base) => ('latency' in t ? (t as { latency: { mean: number } }).latency.mean : (t as unknown as { mean: number }).mean) * 1e6;
for (const t of bench.tasks) {
  const r = t.result!;
  console.log(`${t.name.padEnd(58)} ${ns(r).toFixed(0).padStart(7)} ns/event  ${(ns(r) / ns(base)).toFixed(2)}x baseline`);
}
