import { beforeAll, describe, expect, it } from 'vitest';
import { runCopyScript } from '../../src/db/copy-script.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';

let env: TestEnv;

beforeAll(async () => {
  env = await useTestEnv();
  await env.pool.query('CREATE TABLE copy_script_a (id int PRIMARY KEY, s text); CREATE TABLE copy_script_b (n int)');
});

const rows = async (table: string) => (await env.pool.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;

describe('a COPY script (several statements, the COPY data in the same write)', () => {
  it('runs BEGIN, two COPYs with their data and a query in one round trip', async () => {
    const client = await env.pool.connect();
    try {
      const out = await runCopyScript(client,
        'BEGIN; COPY copy_script_a FROM STDIN; COPY copy_script_b FROM STDIN; SELECT count(*), max(s) FROM copy_script_a',
        [Buffer.from('1\tone\n2\ttwo\\ttab\n'), Buffer.from('7\n')]);
      expect(out.map((s) => s.tag)).toEqual(['BEGIN', 'COPY 2', 'COPY 1', 'SELECT 1']);
      expect(out[3].rows).toEqual([['2', 'two\ttab']]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await rows('copy_script_a')).toEqual([{ id: 1, s: 'one' }, { id: 2, s: 'two\ttab' }]);
    expect(await rows('copy_script_b')).toEqual([{ n: 7 }]);
  });

  it('a row rejected during the copy fails the script, the data sent ahead is dropped, and the connection stays usable', async () => {
    const client = await env.pool.connect();
    try {
      // Row 1 exists: the unique violation comes mid-copy, with rows after it still unsent to the table.
      const err = await runCopyScript(client, 'BEGIN; COPY copy_script_a FROM STDIN; SELECT 1',
        [Buffer.from('3\tthree\n1\tdup\n4\tfour\n')]).catch((e: Error & { code?: string }) => e);
      expect((err as { code?: string }).code).toBe('23505');
      await client.query('ROLLBACK');
      // A missing table fails before the copy starts: its data must not be read as commands.
      const err2 = await runCopyScript(client, 'BEGIN; COPY copy_script_missing FROM STDIN; SELECT 1',
        [Buffer.from('SELECT 1;\n'.repeat(10_000))]).catch((e: Error & { code?: string }) => e);
      expect((err2 as { code?: string }).code).toBe('42P01');
      await client.query('ROLLBACK');
      expect((await client.query('SELECT 41 + 1 AS x')).rows).toEqual([{ x: 42 }]);
    } finally {
      client.release();
    }
    expect(await rows('copy_script_a')).toEqual([{ id: 1, s: 'one' }, { id: 2, s: 'two\ttab' }]);
  });
});
