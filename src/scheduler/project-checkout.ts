import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { requirementsDir } from './private-data-dir.js';

/**
 * A node's own checkout of a project (<dataDir>/projects/<local_path>) and what it holds.
 *
 * Each node has its own disk, so each keeps its own checkout; which revision it holds is
 * written, once an update or sync of it succeeded, to `.checkout` beside the project's
 * requirements cache (projects/.__awx_cache/<local_path>/.checkout), and removed when one
 * starts, so a crash half-way leaves "unknown" and the next job syncs again. A job compares
 * its revision with it (project-sync.ts).
 *
 * Every writer of one node's checkout — a project update placed on the node, a job's local
 * sync — holds that node's checkout lock for the project: a Postgres session advisory lock
 * keyed by node and project, so workers in separate processes wait for each other, the lock
 * dies with a crashed worker's connection, and nodes never wait on one another.
 */
export const CHECKOUT_LOCK = 7_204_002;

export function checkoutRevisionFile(dataDir: string, project: { id: number; local_path: string; name: string }): string {
  return path.join(path.dirname(requirementsDir(dataDir, project, 'x')), '.checkout');
}

export function readCheckoutRevision(dataDir: string, project: { id: number; local_path: string; name: string }): string {
  try { return fs.readFileSync(checkoutRevisionFile(dataDir, project), 'utf8').trim(); } catch { return ''; }
}

export function writeCheckoutRevision(dataDir: string, project: { id: number; local_path: string; name: string }, revision: string | null): void {
  const file = checkoutRevisionFile(dataDir, project);
  if (revision === null) { fs.rmSync(file, { force: true }); return; }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, revision);
}

export async function withCheckoutLock<T>(pool: pg.Pool, node: string, projectId: number, fn: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const key = `${node}/${projectId}`;
  // A connection whose unlock failed may still hold the lock: it is closed, not pooled.
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [CHECKOUT_LOCK, key]);
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [CHECKOUT_LOCK, key]).catch(() => { broken = true; });
    }
  } finally {
    client.release(broken);
  }
}
