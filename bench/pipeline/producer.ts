import crypto from 'node:crypto';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { sharedFixture } from '../../src/paths.js';

/** A bench producer process: pushes events [from, to] for one job at `rate` events/s (0 = flat out). */
const FIXTURE = process.env.BENCH_FIXTURE ?? sharedFixture('runner-events.jsonl');

export function fixtureLines(): Record<string, unknown>[] {
  // playbook_on_stats would run wrapup for every cycle of the fixture: leave it out.
  return fs.readFileSync(FIXTURE, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event !== 'playbook_on_stats');
}

export function eventJson(fixtures: Record<string, unknown>[], jobId: number, counter: number): string {
  const f = fixtures[counter % fixtures.length];
  return JSON.stringify({ ...f, job_id: jobId, counter, uuid: crypto.randomUUID(), created: new Date().toISOString().slice(0, -1) });
}

/**
 * `eventJson` as bytes, with a `created` placeholder of the same length as the stamp, so
 * stamping at push time is a write in place: the producers stand in for runners on other
 * hosts, and the less of the shared cores they use the more is left for what is measured.
 */
const CREATED_PLACEHOLDER = '0000-00-00T00:00:00.000';

function eventBytes(fixtures: Record<string, unknown>[], jobId: number, counter: number): { bytes: Buffer; at: number } {
  const f = fixtures[counter % fixtures.length];
  const head = JSON.stringify({ ...f, created: undefined, job_id: jobId, counter, uuid: crypto.randomUUID() }).slice(0, -1);
  const bytes = Buffer.from(`${head},"created":"${CREATED_PLACEHOLDER}"}`);
  return { bytes, at: bytes.length - CREATED_PLACEHOLDER.length - 2 };
}

export async function runProducer(args: string[]): Promise<void> {
  const [url, queue, job, from, to, rate] = args;
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const fixtures = fixtureLines();
  const jobId = Number(job);
  const perSec = Number(rate);
  const chunk = perSec > 0 ? Math.max(1, Math.round(perSec / 200)) : 500;
  const events: { bytes: Buffer; at: number }[] = [];
  for (let c = Number(from); c <= Number(to); c++) events.push(eventBytes(fixtures, jobId, c));
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
  for (let i = 0; i < events.length; i += chunk) {
    const created = new Date().toISOString().slice(0, -1);
    const items = events.slice(i, i + chunk).map((e) => { e.bytes.write(created, e.at, 'latin1'); return e.bytes; });
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
