import { describe, expect, it } from 'vitest';
import { GenerationStore } from '../../src/api/cache/generation-store.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** A computation that read `tables`. */
const reads = (value: string, ...tables: string[]) => async () => ({ value, tables });

describe('GenerationStore', () => {
  it('shares one computation among concurrent loads of a key and keeps its result', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    store.enable();
    let runs = 0;
    const d = deferred<string>();
    const compute = async () => { runs++; return { value: await d.promise, tables: ['jobs'] }; };
    const loads = [store.load('k', compute), store.load('k', compute), store.load('k', compute)];
    d.resolve('page');
    expect(await Promise.all(loads)).toEqual(['page', 'page', 'page']);
    expect(await store.load('k', compute)).toBe('page');
    expect(runs).toBe(1);
  });

  it('retires only the entries read from a table that changed', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    store.enable();
    await store.load('jobs page', reads('jobs v1', 'unified_jobs', 'job_templates'));
    await store.load('hosts page', reads('hosts v1', 'hosts', 'inventories'));
    store.changed('unified_jobs');
    expect(store.get('jobs page')).toBeUndefined();
    expect(store.get('hosts page')).toBe('hosts v1');
    expect(await store.load('jobs page', reads('jobs v2', 'unified_jobs'))).toBe('jobs v2');
    expect(await store.load('hosts page', reads('never computed', 'hosts'))).toBe('hosts v1');
    store.changed('inventories');
    expect(await store.load('hosts page', reads('hosts v2', 'hosts'))).toBe('hosts v2');
    expect(store.get('jobs page')).toBe('jobs v2');
  });

  it('does not keep a result computed while one of its tables changed, and starts a new load after the change', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    store.enable();
    const old = deferred<string>();
    const first = store.load('k', async () => ({ value: await old.promise, tables: ['unified_jobs'] }));
    store.changed('unified_jobs');
    const fresh = store.load('k', reads('new', 'unified_jobs'));
    old.resolve('old');
    expect(await first).toBe('old');
    expect(await fresh).toBe('new');
    expect(store.get('k')).toBe('new');
    // A change to a table the computation did not read does not stop it from being kept.
    const other = deferred<string>();
    const second = store.load('k2', async () => ({ value: await other.promise, tables: ['hosts'] }));
    store.changed('unified_jobs');
    other.resolve('hosts page');
    expect(await second).toBe('hosts page');
    expect(store.get('k2')).toBe('hosts page');
  });

  it('forgets everything on clear(), computations in flight included', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    store.enable();
    await store.load('a', reads('a', 'hosts'));
    const d = deferred<string>();
    const inFlight = store.load('b', async () => ({ value: await d.promise, tables: ['hosts'] }));
    store.clear();
    d.resolve('b');
    expect(await inFlight).toBe('b');
    expect([store.get('a'), store.get('b'), store.size]).toEqual([undefined, undefined, 0]);
  });

  it('keeps nothing while disabled, nor a failed computation', async () => {
    const store = new GenerationStore<string>(1000, (s) => s.length);
    expect(await store.load('k', reads('v'))).toBe('v');
    expect(store.get('k')).toBeUndefined();
    store.enable();
    await expect(store.load('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await store.load('k', reads('v'))).toBe('v');
    store.disable();
    expect(store.size).toBe(0);
  });

  it('holds at most its byte budget, dropping the oldest entries first', async () => {
    const store = new GenerationStore<string>(10, (s) => s.length);
    store.enable();
    await store.load('a', reads('aaaa'));
    await store.load('b', reads('bbbb'));
    await store.load('c', reads('cccc'));
    await store.load('huge', reads('x'.repeat(11)));
    expect([store.get('a'), store.get('b'), store.get('c'), store.get('huge')]).toEqual([undefined, 'bbbb', 'cccc', undefined]);
  });
});

describe('tablesOf (the tables a cached answer records as read)', () => {
  it('names tables after FROM, JOIN, UPDATE and INTO, and not functions or subquery aliases', async () => {
    const { tablesOf } = await import('../../src/api/cache/cached-read.js');
    expect(tablesOf(`WITH page AS MATERIALIZED (SELECT t.id FROM unified_jobs t WHERE t.kind = 'job')
      SELECT (SELECT json_build_object('id', s.id) FROM job_templates s WHERE s.id = t.x),
             (SELECT count(*) FROM (SELECT 1 FROM "hosts" t LIMIT 5) c)
        FROM unified_jobs t JOIN ONLY inventories i ON true LEFT JOIN unnest($1::bigint[]) u ON true
       WHERE t.id IN (SELECT id FROM page)`).sort())
      .toEqual(['hosts', 'inventories', 'job_templates', 'page', 'unified_jobs', 'unified_jobs'].sort());
    expect(tablesOf('INSERT INTO rbac_roles SELECT * FROM wanted ON CONFLICT DO NOTHING')).toEqual(['rbac_roles', 'wanted']);
    expect(tablesOf('SELECT extract(epoch FROM now()), fold_unified_job_counts()')).toEqual([]);
  });
});
