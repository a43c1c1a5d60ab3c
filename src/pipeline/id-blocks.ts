import type pg from 'pg';

/**
 * Event ids taken from each event table's sequence a block at a time, so a batch's COPY can
 * carry its ids (the broadcast needs them: AWX's event messages have `id`) without a round
 * trip of its own to reserve them: the COPY goes in the same write as BEGIN and the row lock
 * (store-batch.ts). One refill per block, on the connection of the batch that needs it.
 *
 * Ids are unique, not gap-free or in commit order (as with any serial: two workers already
 * reserved concurrently): a block's unused ids are lost when the process stops, as are a
 * rolled-back attempt's. Nothing orders events by id: pages order by counter.
 */
const MIN_BLOCK = 1000;

export class IdBlocks {
  readonly #free = new Map<string, number[]>();

  /** `n` unused ids of `table`'s sequence. Workers of one process share the blocks. */
  async take(db: pg.ClientBase, table: string, n: number): Promise<number[]> {
    let free = this.#free.get(table);
    if (!free) this.#free.set(table, free = []);
    while (free.length < n) {
      // A few batches' worth: at the maximum rate (batches of 1,000) a refill per four batches.
      const want = Math.max(MIN_BLOCK, 4 * n);
      const { rows } = await db.query<{ ids: string }>(
        `SELECT string_agg(nextval('${table}_id_seq')::text, ',') AS ids FROM generate_series(1, ${want})`);
      // One text value, not a row per id: parsing 1,000 result rows cost ~1 µs per event.
      for (const id of rows[0].ids.split(',')) free.push(Number(id));
    }
    return free.splice(0, n);
  }
}
