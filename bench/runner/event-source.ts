/**
 * The job runner's event source, old against new (issue #18), on one real playbook:
 *
 * - old: `ansible-runner run --json`, whose stdout the runner fills with each event's JSON
 *   (and, for lines read before the callback plugin starts, plain text that has no event);
 *   the runner also writes one file per event under artifacts/<ident>/job_events/.
 * - new: `ansible-runner worker --private-data-dir`, the streaming worker protocol: every
 *   event as a JSON line, no per-event files (runner-stream.ts reads it).
 *
 * Two figures per side, each per event and as a ratio new/old measured in the same run:
 *   runner CPU  user+sys of the runner and everything under it (ansible-playbook, its
 *               forks), from bash's `times`, over `BENCH_RUNS` alternating runs;
 *   reader CPU  the controller's side: old = split lines, JSON.parse each for its counter,
 *               append the job reference (what EventPusher.write did before this change);
 *               new = WorkerStream over the captured worker output. Both push into an
 *               EventPusher whose Redis is a no-op, so only the reading is measured.
 *
 * Usage: node scripts/bench.mjs bench/runner/event-source.ts bench-event-source
 *   BENCH_EVENTS (default 2000: loop items, ~2 events each), BENCH_RUNS (default 3).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { EventPusher } from '../../src/scheduler/event-push.js';
import { Redactor } from '../../src/scheduler/redact.js';
import { WorkerStream } from '../../src/scheduler/runner-stream.js';

const ITEMS = Number(process.env.BENCH_EVENTS ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-event-source-'));
fs.mkdirSync(path.join(root, 'project'));
fs.mkdirSync(path.join(root, 'inventory'));
fs.mkdirSync(path.join(root, 'env'));
fs.writeFileSync(path.join(root, 'project', 'loop.yml'),
  `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg="item {{ item }}"\n      loop: "{{ range(${ITEMS}) | list }}"\n`);
fs.writeFileSync(path.join(root, 'inventory', 'hosts'), 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
fs.writeFileSync(path.join(root, 'env', 'settings'), JSON.stringify({ suppress_output_file: true }));

/** Runs a shell command; returns its stdout and the CPU seconds of its children (bash `times`, second line). */
function timed(command: string): { out: string; cpu: number } {
  const outFile = path.join(root, 'out');
  const report = execFileSync('bash', ['-c', `${command} > ${outFile} 2>/dev/null; times`], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (t: string) => { const m = /(\d+)m([\d.]+)s/.exec(t)!; return Number(m[1]) * 60 + Number(m[2]); };
  const [user, sys] = report.trim().split('\n')[1].split(/\s+/);
  return { out: fs.readFileSync(outFile, 'utf8'), cpu: seconds(user) + seconds(sys) };
}

function runOld(): { out: string; cpu: number } {
  fs.rmSync(path.join(root, 'artifacts'), { recursive: true, force: true });
  return timed(`ansible-runner run ${root} --json -p loop.yml --ident old`);
}

function runNew(): { out: string; cpu: number } {
  fs.rmSync(path.join(root, 'artifacts'), { recursive: true, force: true });
  const job = path.join(root, 'job.json');
  fs.writeFileSync(job, `${JSON.stringify({ kwargs: { playbook: 'loop.yml', ident: 'new' } })}\n{"eof": true}\n`);
  return timed(`ansible-runner worker --private-data-dir ${root} < ${job}`);
}

const noRedis = { rpush: async () => 0 } as unknown as Redis;
const pusher = () => new EventPusher(noRedis, 'q', 'job_id', 1, new Date(), new Redactor([]));

/** What EventPusher.write did with `run --json` output before the worker stream. */
function readOld(out: string): number {
  const p = pusher();
  let n = 0;
  for (const raw of out.split('\n')) {
    const line = raw.trim();
    if (!line || line[0] !== '{' || line[line.length - 1] !== '}') continue;
    let counter: unknown;
    try { counter = (JSON.parse(line) as { counter?: unknown }).counter; } catch { continue; }
    if (typeof counter !== 'number') continue;
    p.push(line, counter);
    n++;
  }
  return n;
}

function readNew(out: string): number {
  const p = pusher();
  const s = new WorkerStream(p);
  for (let i = 0; i < out.length; i += 65536) s.write(out.slice(i, i + 65536));
  s.end();
  return p.events;
}

/** CPU µs per event of `fn` over the captured output, best of 5 passes. */
function readerCost(fn: (out: string) => number, out: string): number {
  let best = Infinity;
  let events = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = process.cpuUsage();
    events = fn(out);
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) / events);
  }
  return best;
}

const counts = (out: string) => out.split('\n').filter((l) => l.startsWith('{') && l.includes('"counter"')).length;
const old = { cpu: 0, events: 0, out: '' };
const neu = { cpu: 0, events: 0, out: '' };
runNew(); // warm the page cache and Python's bytecode for both
for (let r = 0; r < RUNS; r++) {
  const a = runOld();
  const b = runNew();
  old.cpu += a.cpu; old.events += counts(a.out); old.out = a.out;
  neu.cpu += b.cpu; neu.events += counts(b.out); neu.out = b.out;
}
const runnerOld = (old.cpu / old.events) * 1e6;
const runnerNew = (neu.cpu / neu.events) * 1e6;
const readOldUs = readerCost(readOld, old.out);
const readNewUs = readerCost(readNew, neu.out);
fs.rmSync(root, { recursive: true, force: true });

const f = (n: number) => n.toFixed(2).padStart(8);
process.stdout.write([
  `event source: ${ITEMS} loop items (${old.events / RUNS} events a run), ${RUNS} runs each, ${os.cpus().length} cores`,
  `                      old (run --json)   new (worker)   new/old`,
  `runner CPU µs/event   ${f(runnerOld)}           ${f(runnerNew)}       ${(runnerNew / runnerOld).toFixed(2)}`,
  `reader CPU µs/event   ${f(readOldUs)}           ${f(readNewUs)}       ${(readNewUs / readOldUs).toFixed(2)}`,
  '',
].join('\n'));
