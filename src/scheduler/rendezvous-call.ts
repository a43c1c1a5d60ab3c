import type { PoolClient } from '../db/pool.js';

/**
 * The pipeline's final-status rendezvous (src/pipeline/rendezvous.ts, `finalStatusSaved(db,
 * jobId)`), called inside the transaction that saves a final status. Until the pipeline's
 * module lands this is a no-op with the same signature; then this file re-exports it.
 */
export async function finalStatusSaved(_db: PoolClient, _jobId: number): Promise<void> {}
