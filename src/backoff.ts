/**
 * Exponential backoff with jitter, the one formula every retry here uses: base × 2^attempt,
 * capped, plus a random share so a cluster's processes do not retry in step.
 */
export interface Backoff { baseMs: number; capMs: number; jitter: number }

/** Redis reconnects and the receiver's retries: 50 ms doubling to 2 s, plus up to 5 %. */
export const FAST: Backoff = { baseMs: 50, capMs: 2_000, jitter: 0.05 };
/** Loops and LISTEN connections: 250 ms doubling to 30 s, plus up to 20 %. */
export const SLOW: Backoff = { baseMs: 250, capMs: 30_000, jitter: 0.2 };

export function backoffMs(attempt: number, b: Backoff): number {
  const ms = Math.min(b.capMs, b.baseMs * 2 ** Math.min(Math.max(attempt, 0), 20));
  return Math.floor(ms + Math.random() * ms * b.jitter);
}
