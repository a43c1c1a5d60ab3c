import { describe, expect, it } from 'vitest';
import { IdleWatch } from '../../src/pipeline/receiver-worker.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('the receiver workers\' idle watch', () => {
  it('lets one worker at a time wait on the intake list; the next takes the watch only when it is released', async () => {
    const watch = new IdleWatch();
    const order: string[] = [];
    expect(await watch.acquire(() => false)).toBe(true);
    order.push('a watches');
    const b = watch.acquire(() => false).then((ok) => order.push(`b watches: ${ok}`));
    const c = watch.acquire(() => false).then((ok) => order.push(`c watches: ${ok}`));
    await tick();
    expect(order).toEqual(['a watches']);
    watch.release();
    await tick();
    // Only one of the parked workers gets it; the other parks again.
    expect(order).toEqual(['a watches', 'b watches: true']);
    watch.release();
    await Promise.all([b, c]);
    expect(order).toEqual(['a watches', 'b watches: true', 'c watches: true']);
  });

  it('a parked worker that is stopping gives up instead of watching', async () => {
    const watch = new IdleWatch();
    await watch.acquire(() => false);
    let stopping = false;
    const parked = watch.acquire(() => stopping);
    stopping = true;
    watch.release();
    expect(await parked).toBe(false);
    // Nobody holds it now: the next worker gets it at once.
    expect(await watch.acquire(() => false)).toBe(true);
  });
});
