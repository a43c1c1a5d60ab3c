import { describe, expect, test } from 'vitest';
import { GroupQueue, type MissedRange } from '../../src/api/ws/group-queue.js';

const notices: MissedRange[] = [];
const queue = (capacity: number) => new GroupQueue(capacity, (m) => { notices.push(m); return `notice ${JSON.stringify(m)}`; });
const drain = (q: GroupQueue, n = Infinity) => { const out: string[] = []; while (q.size > 0 && out.length < n) out.push(q.shift() as string); return out; };

describe('GroupQueue', () => {
  test('keeps order across ring growth and wrap-around, up to its bound', () => {
    const q = queue(1000);
    let next = 1;
    const got: string[] = [];
    // Interleave pushes and shifts so the ring wraps while it grows from 16 slots to 1,001.
    for (let round = 0; round < 48; round++) {
      for (let k = 0; k < 37; k++) { expect(q.push(`e${next}`, next, 0)).toBe(true); next++; }
      got.push(...drain(q, 17));
    }
    got.push(...drain(q));
    expect(got).toEqual(Array.from({ length: next - 1 }, (_, i) => `e${i + 1}`));
  });

  test('at the bound it drops and counts, then names the missed range where the hole is', () => {
    notices.length = 0;
    const q = queue(100);
    for (let c = 1; c <= 250; c++) q.push(`e${c}`, c, 5);
    expect(q.size).toBe(100);
    expect(q.state).toBe('overflowing');
    expect(q.droppedTotal).toBe(150);
    expect(q.undelivered()).toEqual({ counters: [1, 250], count: 250 });
    const first = drain(q, 50);
    expect(first).toEqual(Array.from({ length: 50 }, (_, i) => `e${i + 1}`));
    expect(q.state).toBe('live');
    q.push('e251', 251, 6);
    const rest = drain(q);
    expect(rest).toEqual([...Array.from({ length: 50 }, (_, i) => `e${i + 51}`), 'notice {"counters":[101,250],"count":150}', 'e251']);
    expect(notices).toEqual([{ counters: [101, 250], count: 150 }]);
  });
});
