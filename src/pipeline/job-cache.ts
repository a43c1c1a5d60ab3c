import type pg from 'pg';
import { isoUtcSql } from '../db/iso-timestamp.js';
import { type JobKindInfo, jobKinds, type JobKind } from '../db/job-kinds.js';

/**
 * What the receiver needs to know about a job to store its events, looked up once per job
 * and kept: its kind, its exact `created` (the partition key, as Postgres prints it, with
 * microseconds: events must carry the very value queries filter on) and its inventory's
 * host name → id map (AWX's host_map, built when the job is first seen).
 *
 * Bounded: past 10,000 jobs the oldest entries go (Map keeps insertion order); a job that
 * comes back is looked up again.
 */
export interface JobInfo {
  id: number;
  kind: JobKindInfo;
  createdIso: string;
  hostMap: Map<string, number>;
}

const MAX_JOBS = 10_000;
type Queryable = Pick<pg.Pool, 'query'>;

export class JobCache {
  readonly #jobs = new Map<number, JobInfo>();

  /** The known jobs among `ids` (unknown ids are absent from the result). */
  async resolve(db: Queryable, ids: Iterable<number>): Promise<Map<number, JobInfo>> {
    const out = new Map<number, JobInfo>();
    const missing: number[] = [];
    for (const id of new Set(ids)) {
      const j = this.#jobs.get(id);
      if (j) out.set(id, j); else missing.push(id);
    }
    if (!missing.length) return out;
    const { rows } = await db.query<{ id: number; kind: JobKind; created_iso: string; inventory_id: number | null }>(
      `SELECT id, kind, inventory_id,
              ${isoUtcSql('created')} AS created_iso
         FROM unified_jobs WHERE id = ANY($1::bigint[])`, [missing]);
    const inventories = [...new Set(rows.map((r) => r.inventory_id).filter((v): v is number => v !== null))];
    const hostsByInventory = new Map<number, Map<string, number>>();
    if (inventories.length) {
      const hosts = await db.query<{ inventory_id: number; name: string; id: number }>(
        'SELECT inventory_id, name, id FROM hosts WHERE inventory_id = ANY($1::bigint[])', [inventories]);
      for (const h of hosts.rows) {
        let m = hostsByInventory.get(h.inventory_id);
        if (!m) hostsByInventory.set(h.inventory_id, m = new Map());
        m.set(h.name, h.id);
      }
    }
    for (const r of rows) {
      const info: JobInfo = { id: r.id, kind: jobKinds[r.kind], createdIso: r.created_iso,
        hostMap: (r.inventory_id !== null && hostsByInventory.get(r.inventory_id)) || new Map() };
      if (this.#jobs.size >= MAX_JOBS) this.#jobs.delete(this.#jobs.keys().next().value!);
      this.#jobs.set(r.id, info);
      out.set(r.id, info);
    }
    return out;
  }
}

/**
 * Hours whose event partitions this process has made sure of. ensure_event_partitions is
 * race-safe across workers and nodes; the cache only spares the call (one per hour seen).
 */
export class PartitionCache {
  readonly #hours = new Set<string>();

  async ensure(db: Queryable, createdIso: string): Promise<void> {
    const hour = createdIso.slice(0, 13);
    if (this.#hours.has(hour)) return;
    await db.query('SELECT ensure_event_partitions($1)', [createdIso]);
    this.#hours.add(hour);
  }
}
