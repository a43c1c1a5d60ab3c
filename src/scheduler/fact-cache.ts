import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { loadInventoryHosts } from '../db/host-filter.js';
import { Params } from '../db/lookups.js';
import { isWholeNumber, readSetting } from '../db/settings.js';
import { log } from '../log.js';

/**
 * AWX's fact cache for jobs whose template sets `use_fact_cache`: before the playbook runs,
 * each host's stored facts are written where Ansible's jsonfile cache plugin reads them
 * (ansible-runner's `fact_cache_type: jsonfile`, <private data dir>/artifacts/<ident>/fact_cache/
 * <host>); after it, a file Ansible rewrote becomes the host's facts, and a file gone (cleared
 * facts) empties them. Later jobs, and `ansible_facts__` host filters, see them. Facts older
 * than the ANSIBLE_FACT_CACHE_TIMEOUT setting (seconds; 0: no limit) are not given to a job.
 */
export const FACT_CACHE_TYPE = 'jsonfile';

/** A host's facts file larger than this is not read back (a runaway fact would otherwise be loaded whole). */
const MAX_FACTS_BYTES = 16 * 1024 * 1024;

interface CachedHost { id: number; name: string }

export interface FactCache {
  hosts: CachedHost[];
  dir: string;
  /** mtime (ms) of the last file written; a file newer than this was written by the job. */
  writtenAt: number | null;
}

export function factCacheDir(privateDataDir: string, ident: string): string {
  return path.join(privateDataDir, 'artifacts', ident, 'fact_cache');
}

/** The path of `host`'s facts file, or undefined for a name that would leave the cache dir. */
function fileOf(dir: string, host: string): string | undefined {
  const file = path.resolve(dir, host);
  return path.dirname(file) === dir ? file : undefined;
}

export async function startFactCache(db: Pick<pg.Pool, 'query'>, inventoryId: number, dir: string): Promise<FactCache> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const params = new Params();
  const inv = await loadInventoryHosts(db, inventoryId, params);
  if (!inv) return { hosts: [], dir, writtenAt: null };
  // A constructed inventory's hosts are stand-ins: facts belong to the input hosts they came
  // from (their instance_id, constructed-inventory.ts), as AWX's get_hosts_for_fact_cache.
  const { rows: [kind] } = await db.query<{ kind: string }>('SELECT kind FROM inventories WHERE id = $1', [inventoryId]);
  const [which, values] = kind?.kind === 'constructed'
    ? [`t.id IN (SELECT c.instance_id::bigint FROM hosts c WHERE c.inventory_id = $1::bigint AND c.instance_id ~ '^[0-9]{1,18}$')`, [inventoryId]]
    : [inv.hosts, params.values];
  const timeout = await readSetting(db, 'ANSIBLE_FACT_CACHE_TIMEOUT', 0, isWholeNumber);
  const { rows } = await db.query<CachedHost & { ansible_facts: unknown; ansible_facts_modified: Date | null }>(
    `SELECT t.id, t.name, t.ansible_facts,
            CASE WHEN ${timeout} <= 0 OR t.ansible_facts_modified > now() - make_interval(secs => ${timeout}) THEN t.ansible_facts_modified END AS ansible_facts_modified
       FROM hosts t WHERE ${which}`, values);
  let writtenAt: number | null = null;
  for (const h of rows) {
    const file = fileOf(dir, h.name);
    if (!file) { log.warn('fact cache: host name cannot be a file name, facts not cached', { host: h.name }); continue; }
    if (!h.ansible_facts_modified) continue;
    fs.writeFileSync(file, JSON.stringify(h.ansible_facts), { mode: 0o600 });
    writtenAt = fs.statSync(file).mtimeMs;
  }
  return { hosts: rows.map(({ id, name }) => ({ id, name })), dir, writtenAt };
}

/** Saves what the job left in the cache: rewritten files as the hosts' facts, missing ones as cleared. */
export async function finishFactCache(db: Pick<pg.Pool, 'query'>, cache: FactCache): Promise<{ updated: number; cleared: number }> {
  const ids: number[] = [];
  const facts: string[] = [];
  let cleared = 0;
  for (const h of cache.hosts) {
    const file = fileOf(cache.dir, h.name);
    if (!file) continue;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      ids.push(h.id);
      facts.push('{}');
      cleared++;
      continue;
    }
    if (cache.writtenAt !== null && stat.mtimeMs <= cache.writtenAt) continue;
    if (!stat.isFile() || stat.size > MAX_FACTS_BYTES) { log.warn('fact cache: facts file not read back', { host: h.name, bytes: stat.size }); continue; }
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) continue;
      ids.push(h.id);
      facts.push(JSON.stringify(parsed));
    } catch {
      log.warn('fact cache: facts file is not JSON', { host: h.name });
    }
  }
  if (ids.length) {
    await db.query(`UPDATE hosts h SET ansible_facts = u.facts::jsonb, ansible_facts_modified = now()
                      FROM unnest($1::bigint[], $2::text[]) u(id, facts) WHERE h.id = u.id`, [ids, facts]);
  }
  return { updated: ids.length - cleared, cleared };
}
