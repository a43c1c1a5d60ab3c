import fs from 'node:fs';
import { Pool } from 'undici';
import { cpuMeter, selfCpuSeconds, treeCpuSeconds } from '../../bench/pipeline/cpu-accounting.js';
import { chooser, random, urlClasses, type Who } from './mix.js';
import { percentile } from './stack.js';

/**
 * The mixed traffic of the load test (mix.ts) against a stack already running, without the
 * producers or the job finisher: for profiling a process while it serves the mix. Usage:
 *   PROFILE_URL=http://127.0.0.1:18080 LOADTEST_DATA_DIR=/tmp/lt-scale CONCURRENCY=50 DURATION=20 \
 *     node scripts/bench.mjs loadtest/api/drive.ts loadtest-drive
 * (CLASSES="jobs list,me" limits it to those classes of mix.ts.)
 * Prints req/s, p50 / p99, and p50 / p99 per class; with CPU_PIDS="web=PID,postgres=PID", the
 * CPU each of those process trees (a postmaster with its backends) and this driver spent per
 * request.
 */
const base = process.env.PROFILE_URL ?? 'http://127.0.0.1:18080';
const seed = JSON.parse(fs.readFileSync(`${process.env.LOADTEST_DATA_DIR ?? '/tmp/lt-scale'}/loadtest-seed.json`, 'utf8'));
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const DURATION = Number(process.env.DURATION ?? 20);
const http = new Pool(base, { connections: CONCURRENCY + 2 });

async function token(user: string): Promise<string> {
  const res = await http.request({ method: 'POST', path: '/api/v2/tokens/', body: JSON.stringify({ scope: 'write', description: 'drive' }),
    headers: { authorization: `Basic ${Buffer.from(`${user}:scale-pw`).toString('base64')}`, 'content-type': 'application/json' } });
  const body = (await res.body.json()) as { token?: string };
  if (!body.token) throw new Error(`no token for ${user}: ${res.statusCode}`);
  return `Bearer ${body.token}`;
}

const auth: Record<Who, string> = { admin: await token('scale-admin'), user: await token('scale-user') };
// CLASSES=name,name drives those classes only (their weights kept), to cost one class at a time.
const only = process.env.CLASSES ? process.env.CLASSES.split(',') : undefined;
const choose = chooser(urlClasses(seed.set, { jobs: seed.jobs, hosts: 10_000, events: seed.events })
  .filter((c) => !only || only.includes(c.name)));
const all: number[] = [];
const perClass = new Map<string, number[]>();
let errors = 0;
const cpu = cpuMeter({
  ...Object.fromEntries((process.env.CPU_PIDS ?? '').split(',').filter(Boolean).map((kv) => {
    const [name, pid] = kv.split('=');
    return [name, () => treeCpuSeconds(Number(pid))];
  })),
  driver: selfCpuSeconds,
});
const started = performance.now();
const end = started + DURATION * 1000;
await Promise.all(Array.from({ length: CONCURRENCY }, async (_, c) => {
  const rnd = random(c + 1);
  const who: Who = c % 2 === 0 ? 'admin' : 'user';
  while (performance.now() < end) {
    const cls = choose(rnd);
    const r = cls.make(rnd, who);
    const t0 = performance.now();
    const res = await http.request({ method: r.method, path: r.path, body: r.body,
      headers: { authorization: auth[who], ...(r.body ? { 'content-type': 'application/json' } : {}) } });
    await res.body.arrayBuffer();
    const dt = performance.now() - t0;
    if (res.statusCode >= 300) errors++;
    all.push(dt);
    perClass.set(cls.name, [...(perClass.get(cls.name) ?? []), dt]);
  }
}));
const secs = (performance.now() - started) / 1000;
const perRequest = cpu.perEvent(all.length);
all.sort((a, b) => a - b);
console.log(`${Math.round(all.length / secs)} req/s, p50 ${percentile(all, 0.5).toFixed(1)} p99 ${percentile(all, 0.99).toFixed(1)} ms, ${errors} errors of ${all.length}`);
console.log(`CPU ms per request: ${Object.entries(perRequest).map(([k, us]) => `${k} ${(us / 1000).toFixed(2)}`).join(', ')}`);
for (const [name, t] of perClass) {
  t.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(16)} n ${String(t.length).padStart(5)}  p50 ${percentile(t, 0.5).toFixed(1).padStart(7)}  p99 ${percentile(t, 0.99).toFixed(1).padStart(7)}`);
}
await http.close();
