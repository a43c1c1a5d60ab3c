import crypto from 'node:crypto';
import type pg from 'pg';
import type { BadEvent } from './parse-event.js';

/**
 * The dead-letter store (table dead_letters, migration 0100): events that cannot be stored,
 * with the reason, a stable code and the raw bytes. Written in the same transaction as the
 * batch they came in, so they are acknowledged with it; a replay (`skipExisting`) does not
 * record them twice.
 */
export async function insertDeadLetters(db: pg.ClientBase, node: string, bad: BadEvent[], skipExisting: boolean): Promise<void> {
  if (!bad.length) return;
  const hashes = bad.map((b) => crypto.createHash('sha256').update(b.raw).digest());
  await db.query(
    `INSERT INTO dead_letters (node, code, reason, job_id, payload, payload_sha256)
     SELECT $1, d.code, d.reason, d.job_id, d.payload, d.sha
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::bytea[]) AS d(code, reason, job_id, payload, sha)
      WHERE NOT $7 OR NOT EXISTS (SELECT 1 FROM dead_letters x WHERE x.payload_sha256 = d.sha)`,
    [node, bad.map((b) => b.code), bad.map((b) => b.reason), bad.map((b) => b.jobId), bad.map((b) => b.raw), hashes, skipExisting]);
}

export interface DeadLetterRow {
  id: number;
  created: Date;
  node: string;
  code: string;
  reason: string;
  job_id: number | null;
  payload: Buffer;
}

export async function listDeadLetters(db: Pick<pg.Pool, 'query'>, limit: number, offset: number): Promise<{ count: number; rows: DeadLetterRow[] }> {
  const [count, page] = await Promise.all([
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters'),
    db.query<DeadLetterRow>('SELECT id, created, node, code, reason, job_id, payload FROM dead_letters ORDER BY id DESC LIMIT $1 OFFSET $2',
      [limit, offset]),
  ]);
  return { count: count.rows[0].n, rows: page.rows };
}
