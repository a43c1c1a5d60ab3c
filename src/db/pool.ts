import pg from 'pg';
import { log } from '../log.js';

// bigint (int8) columns hold ids and counts that stay far below 2^53: read them as numbers,
// as AWX's API returns them. timestamptz stays a Date.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** A pool with the error handler every pool must have: an idle client's failure is logged, not fatal. */
export function createPool(connectionString: string, options: { max?: number; name?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.name ?? 'playstream',
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (err) => log.warn('idle Postgres client failed', { pool: options.name, err }));
  return pool;
}

/** Runs fn in a transaction on one client: COMMIT on success, ROLLBACK on throw. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Runs fn atomically: in a transaction of its own when given the pool, else on the client as
 * given (the caller's transaction). For writes another process must never see half done, such
 * as a job and what it runs with.
 */
export function atomically<T, Q extends Pick<pg.Pool, 'query'>>(db: Q, fn: (db: Q | pg.PoolClient) => Promise<T>): Promise<T> {
  return db instanceof pg.Pool ? withTransaction(db, fn) : fn(db);
}
