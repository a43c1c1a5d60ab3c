import { describe, expect, it } from 'vitest';
import { GenerationStore } from '../../src/api/cache/generation-store.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('GenerationStore', () => {
  it('shares one computation among concurrent loads of a key and keeps its result', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    store.enable();
    let runs = 0;
    const d = deferred<string>();
    const compute = () => { runs++; return d.promise; };
    const loads = [store.load('k', compute), store.load('k', compute), store.load('k', compute)];
    d.resolve('page');
    expect(await Promise.all(loads)).toEqual(['page', 'page', 'page']);
    expect(await store.load('k', compute)).toBe('page');
    expect(runs).toBe(1);
  });

  it('does not keep a result computed across an invalidation, and starts a new load after it', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    store.enable();
    const old = deferred<string>();
    const first = store.load('k', () => old.promise);
    store.invalidate();
    const fresh = store.load('k', async () => 'new');
    old.resolve('old');
    expect(await first).toBe('old');
    expect(await fresh).toBe('new');
    expect(store.get('k')).toBe('new');
  });

  it('keeps nothing while disabled, nor a failed computation', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    expect(await store.load('k', async () => 'v')).toBe('v');
    expect(store.get('k')).toBeUndefined();
    store.enable();
    await expect(store.load('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await store.load('k', async () => 'v')).toBe('v');
    store.disable();
    expect(store.size).toBe(0);
  });

  it('holds at most its byte budget, dropping the oldest entries first', async () => {
    const store = new GenerationStore<string>(10, (s) => s.length);
    store.enable();
    await store.load('a', async () => 'aaaa');
    await store.load('b', async () => 'bbbb');
    await store.load('c', async () => 'cccc');
    await store.load('huge', async () => 'x'.repeat(11));
    expect([store.get('a'), store.get('b'), store.get('c'), store.get('huge')]).toEqual([undefined, 'bbbb', 'cccc', undefined]);
  });
});
