import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * db/prepared.ts names the first 256 distinct statement texts (a backend keeps every statement
 * it prepared); a text the caller marks fixed (a resource's rows by id: one per resource) is
 * named past that cap, so lists' varied texts cannot leave it planned on every request.
 * The module's count is process-wide: the test works on a fresh copy of it.
 */
afterEach(() => vi.resetModules());

describe('prepared statement names', () => {
  it('stops naming varied texts at the cap, keeps naming fixed ones, and reuses a name', async () => {
    vi.resetModules();
    const { prepared } = await import('../../src/db/prepared.js');
    const first = prepared('SELECT 1 AS varied_0', []);
    expect(first.name).toMatch(/^ps_[0-9a-f]{20}$/);
    for (let i = 1; i < 256; i++) expect(prepared(`SELECT ${i} AS varied_${i}`, []).name).toBeDefined();
    expect(prepared('SELECT 256 AS varied_256', []).name).toBeUndefined();
    expect(prepared('SELECT 1 AS varied_0', [7]).name).toBe(first.name);
    const fixed = prepared('SELECT 1 AS rows_of_a_resource', [[1, 2]], true);
    expect(fixed.name).toMatch(/^ps_/);
    expect(fixed.values).toEqual([[1, 2]]);
    expect(prepared('SELECT 1 AS rows_of_a_resource', [[3]]).name).toBe(fixed.name);
  });
});
