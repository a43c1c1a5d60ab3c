import type { Redis } from 'ioredis';
import type { Redactor } from './redact.js';

/**
 * The producer side of the pipeline's intake contract (DESIGN.md §4): each event becomes the
 * runner's JSON object plus the job reference (`job_id`, ...) and `job_created`, RPUSHed to
 * the callback queue. Events that arrive together (one stdout chunk) go in one multi-value
 * RPUSH, and at most one push is in flight: events arriving meanwhile wait for it and go in
 * the next one, so a burst costs a few round trips, not one per event. `finish()` pushes
 * the final EOF with final_counter, the highest counter pushed.
 *
 * What reads the runner's output and decides what is an event is runner-stream.ts; the
 * scheduler's own events (project updates, ...) come through SyntheticEvents.
 */
export class EventPusher {
  readonly #redis: Redis;
  readonly #queue: string;
  readonly #suffix: string;
  readonly #ref: Record<string, unknown>;
  readonly #redactor: Redactor;
  #pending: string[] = [];
  #inflight: Promise<void> | null = null;
  #error: unknown = null;
  maxCounter = 0;
  events = 0;

  constructor(redis: Redis, queue: string, refField: string, jobId: number, jobCreated: Date, redactor: Redactor) {
    this.#redis = redis;
    this.#queue = queue;
    this.#ref = { [refField]: jobId, job_created: jobCreated.toISOString() };
    // The reference fields are appended to the runner's own object text: no re-serialization of the event.
    this.#suffix = `,${JSON.stringify(refField)}:${jobId},"job_created":${JSON.stringify(jobCreated.toISOString())}}`;
    this.#redactor = redactor;
  }

  get redactor(): Redactor { return this.#redactor; }

  /** Queues one event given as the text of its JSON object (which ends in `}`) and its counter. */
  push(objectText: string, counter: number): void {
    if (counter > this.maxCounter) this.maxCounter = counter;
    this.events++;
    const body = this.#redactor.active ? this.#redactor.text(objectText) : objectText;
    this.#pending.push(body.slice(0, -1) + this.#suffix);
  }

  /** Queues a ready-made event object (it has a numeric `counter`) and flushes. */
  pushEvent(event: Record<string, unknown> & { counter: number }): void {
    this.push(JSON.stringify(event), event.counter);
    this.flush();
  }

  /** Sends what is queued unless a push is in flight (then it goes when that one returns). */
  flush(): void {
    if (this.#inflight || !this.#pending.length) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#inflight = this.#redis.rpush(this.#queue, ...batch).then(() => {}, (err) => { this.#error ??= err; })
      .finally(() => { this.#inflight = null; this.flush(); });
  }

  async drain(): Promise<void> {
    this.flush();
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
