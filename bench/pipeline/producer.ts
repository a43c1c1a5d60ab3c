import crypto from 'node:crypto';
import fs from 'node:fs';
import { Redis } from 'ioredis';

/** A bench producer process: pushes events [from, to] for one job at `rate` events/s (0 = flat out). */
const FIXTURE = process.env.BENCH_FIXTURE ?? '/work/shared/fixtures/runner-events.jsonl';

export function fixtureLines(): Record<string, unknown>[] {
  // playbook_on_stats would run wrapup for every cycle of the fixture: leave it out.
  return fs.readFileSync(FIXTURE, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event !== 'playbook_on_stats');
}

export function eventJson(fixtures: Record<string, unknown>[], jobId: number, counter: number): string {
  const f = fixtures[counter % fixtures.length];
  return JSON.stringify({ ...f, job_id: jobId, counter, uuid: crypto.randomUUID(), created: new Date().toISOString().slice(0, -1) });
}

/** `eventJson` without its `created`, which is appended at push time (see stampCreated). */
function eventHead(fixtures: Record<string, unknown>[], jobId: number, counter: number): string {
  const f = fixtures[counter % fixtures.length];
  return JSON.stringify({ ...f, created: undefined, job_id: jobId, counter, uuid: crypto.randomUUID() }).slice(0, -1);
}

const stampCreated = (head: string, created: string) => `${head},"created":"${created}"}`;

export async function runProducer(args: string[]): Promise<void> {
  const [url, queue, job, from, to, rate] = args;
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const fixtures = fixtureLines();
  const jobId = Number(job);
  const perSec = Number(rate);
  const chunk = perSec > 0 ? Math.max(1, Math.round(perSec / 200)) : 500;
  const heads: string[] = [];
  for (let c = Number(from); c <= Number(to); c++) heads.push(eventHead(fixtures, jobId, c));
  await redis.ping();
  // Driven by the bench over IPC: ready once built, push on 'go'; alone, push at once.
  if (process.send) {
    const go = new Promise((r) => process.once('message', r));
    process.send('ready');
    await go;
  }
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let sent = 0;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < heads.length; i += chunk) {
    const created = new Date().toISOString().slice(0, -1);
    const items = heads.slice(i, i + chunk).map((h) => stampCreated(h, created));
    pending.push(redis.rpush(queue, ...items));
    sent += items.length;
    if (perSec > 0) {
      const due = start + (sent / perSec) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    } else if (pending.length >= 8) {
      await Promise.all(pending.splice(0));
    }
  }
  await Promise.all(pending);
  const cpu = process.cpuUsage(cpu0);
  const total = process.cpuUsage();
  if (process.send) await new Promise((r) => process.send!({ cpu: (cpu.user + cpu.system) / 1e6, total: (total.user + total.system) / 1e6 }, r));
  redis.disconnect();
  process.disconnect?.();
}
