import type { Redis } from 'ioredis';
import type { Redactor } from './redact.js';

/**
 * The producer side of the pipeline's intake contract (DESIGN.md §4): each runner event
 * line becomes the runner's JSON object plus the job reference (`job_id`, ...) and
 * `job_created`, RPUSHed to the callback queue. Lines that arrive together (one stdout
 * chunk) go in one multi-value RPUSH, and at most one push is in flight: lines arriving
 * meanwhile wait for it and go in the next one, so a burst costs a few round trips, not
 * one per event. `finish()` pushes the final EOF with final_counter.
 */
export class EventPusher {
  readonly #redis: Redis;
  readonly #queue: string;
  readonly #suffix: string;
  readonly #ref: Record<string, unknown>;
  readonly #redactor: Redactor;
  #pending: string[] = [];
  #inflight: Promise<void> | null = null;
  #partial = '';
  #error: unknown = null;
  maxCounter = 0;
  events = 0;
  /** Non-JSON lines the runner printed (kept, bounded, for result_traceback). */
  readonly otherLines: string[] = [];

  constructor(redis: Redis, queue: string, refField: string, jobId: number, jobCreated: Date, redactor: Redactor) {
    this.#redis = redis;
    this.#queue = queue;
    this.#ref = { [refField]: jobId, job_created: jobCreated.toISOString() };
    // The reference fields are appended to the runner's own object text: no re-serialization of the event.
    this.#suffix = `,${JSON.stringify(refField)}:${jobId},"job_created":${JSON.stringify(jobCreated.toISOString())}}`;
    this.#redactor = redactor;
  }

  /** Feeds a stdout chunk; complete lines are queued and flushed. */
  write(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
    this.#flush();
  }

  /** Pushes a ready-made event object (events the scheduler writes itself: project updates, inventory updates). */
  pushEvent(event: Record<string, unknown>): void {
    this.#line(JSON.stringify(event));
    this.#flush();
  }

  #line(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    if (line[0] !== '{' || line[line.length - 1] !== '}') { this.#other(line); return; }
    let counter: unknown;
    try {
      counter = (JSON.parse(line) as { counter?: unknown }).counter;
    } catch {
      this.#other(line);
      return;
    }
    if (typeof counter !== 'number') { this.#other(line); return; }
    if (counter > this.maxCounter) this.maxCounter = counter;
    this.events++;
    const body = this.#redactor.active ? this.#redactor.text(line) : line;
    this.#pending.push(body.slice(0, -1) + this.#suffix);
  }

  #other(line: string): void {
    if (this.otherLines.length >= 200) this.otherLines.shift();
    this.otherLines.push(this.#redactor.text(line));
  }

  #flush(): void {
    if (this.#inflight || !this.#pending.length) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#inflight = this.#redis.rpush(this.#queue, ...batch).then(() => {}, (err) => { this.#error ??= err; })
      .finally(() => { this.#inflight = null; this.#flush(); });
  }

  async drain(): Promise<void> {
    if (this.#partial) { this.#line(this.#partial); this.#partial = ''; this.#flush(); }
    while (this.#inflight) await this.#inflight;
    if (this.#error) throw this.#error;
  }

  /** Drains, then pushes EOF. Returns the final counter (the job's emitted_events). */
  async finish(): Promise<number> {
    await this.drain();
    await this.#redis.rpush(this.#queue, JSON.stringify({ event: 'EOF', final_counter: this.maxCounter, ...this.#ref }));
    return this.maxCounter;
  }
}
