import { log } from '../log.js';
import { backoffMs, SLOW } from '../backoff.js';

/**
 * A periodic background loop: runs `fn` every `intervalMs`, or sooner when `wake()` is
 * called (a NOTIFY hint), never two runs at once. A failing run is retried with
 * exponential backoff (from 250 ms, capped at 30 s) plus up to 20% jitter so a cluster
 * whose database restarts does not come back in lockstep.
 */
export class BackgroundLoop {
  readonly #name: string;
  readonly #intervalMs: number;
  readonly #fn: () => Promise<unknown>;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #again = false;
  #failures = 0;
  #stopped = false;

  constructor(name: string, intervalMs: number, fn: () => Promise<unknown>) {
    this.#name = name;
    this.#intervalMs = intervalMs;
    this.#fn = fn;
  }

  start(): this { this.wake(); return this; }

  wake(delayMs = 0): void {
    if (this.#stopped) return;
    if (this.#running) { this.#again = true; return; }
    this.#schedule(delayMs);
  }

  #schedule(ms: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#run(), ms);
  }

  async #run(): Promise<void> {
    this.#timer = null;
    this.#running = true;
    this.#again = false;
    let next = this.#intervalMs;
    try {
      await this.#fn();
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      next = backoffMs(this.#failures, SLOW);
      log.warn(`${this.#name} failed; retrying`, { inMs: Math.round(next), err });
    }
    this.#running = false;
    if (this.#stopped) return;
    this.#schedule(this.#again && !this.#failures ? 0 : next);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
