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

export async function runProducer(args: string[]): Promise<void> {
  const [url, queue, job, from, to, rate] = args;
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const fixtures = fixtureLines();
  const jobId = Number(job);
  const perSec = Number(rate);
  const chunk = perSec > 0 ? Math.max(1, Math.round(perSec / 200)) : 500;
  const start = performance.now();
  let sent = 0;
  const pending: Promise<unknown>[] = [];
  for (let c = Number(from); c <= Number(to); c += chunk) {
    const items: string[] = [];
    for (let i = c; i < Math.min(c + chunk, Number(to) + 1); i++) items.push(eventJson(fixtures, jobId, i));
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
  redis.disconnect();
}
