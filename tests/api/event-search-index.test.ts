import { beforeAll, describe, expect, it } from 'vitest';
import { seedApiScale, type ScaleSet } from '../../bench/api/seed.js';
import { partitionName } from '../../src/db/event-partitions.js';
import { indexEventSearch, MIN_PARTITION_BYTES, searchIndexName, STILL_WRITTEN_GRACE_MS } from '../../src/db/event-search-index.js';
import { hashPassword } from '../../src/security/passwords.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * The stdout search index (db/event-search-index.ts): built on an event partition once its
 * hour is over and its jobs are done (or a day after, if one never finishes), never on one
 * still written before that or too small to need it;
 * and `stdout__icontains` on a job there is answered from it, with the rows a plain query
 * gives.
 */
let env: TestEnv;
let url: string;
let set: ScaleSet;
const admin = basicAuth('scale-admin', 'scale-pw-3');
const EVENTS = 40_000;
const HOUR = 3_600_000;

const partitionOf = (created: Date) => partitionName('job_events', created);

async function validIndexes(): Promise<string[]> {
  const { rows } = await env.pool.query(`SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
    WHERE c.relname LIKE '%\\_stdout\\_trgm' AND x.indisvalid ORDER BY 1`);
  return rows.map((r) => r.relname);
}

/** A job of `status` created `created`, holding a copy of the big job's events in its own partition. */
async function jobWithEvents(created: Date, status: string, events: number): Promise<number> {
  const { rows: [job] } = await env.pool.query(
    `INSERT INTO unified_jobs (kind, name, status, created, event_processing_finished) VALUES ('job', 'copy', $1, $2, $3) RETURNING id`,
    [status, created, status === 'successful']);
  await env.pool.query('SELECT ensure_event_partitions($1)', [created]);
  await env.pool.query(
    `INSERT INTO job_events (created, modified, job_created, job_id, event, event_data, uuid, counter, stdout)
     SELECT created, modified, $2, $3, event, event_data, uuid, counter, stdout FROM job_events WHERE job_id = $1 AND counter <= $4`,
    [set.bigJobId, created, job.id, events]);
  return Number(job.id);
}

beforeAll(async () => {
  env = await useTestEnv();
  set = await seedApiScale(env.pool, { jobs: 10, templates: 2, hosts: 5, events: EVENTS }, await hashPassword('scale-pw-3'));
  ({ url } = await startTestWeb(env));
});

describe('the stdout search index of event partitions', () => {
  it('is built once a partition\'s hour is over and its jobs are done; not for one still written or a small one', async () => {
    const { rows: [big] } = await env.pool.query('SELECT created FROM unified_jobs WHERE id = $1', [set.bigJobId]);
    const bigCreated: Date = big.created;
    const bigPartition = partitionOf(bigCreated);
    expect((await env.pool.query('SELECT pg_relation_size($1::regclass) AS n', [bigPartition])).rows[0].n).toBeGreaterThan(MIN_PARTITION_BYTES);
    // Three hours earlier: a running job with as many events; four hours earlier: a finished job with few.
    const runningCreated = new Date(bigCreated.getTime() - 3 * HOUR);
    const running = await jobWithEvents(runningCreated, 'running', EVENTS);
    const smallCreated = new Date(bigCreated.getTime() - 4 * HOUR);
    await jobWithEvents(smallCreated, 'successful', 500);

    // During the big job's hour nothing is ready (its own hour is not over; the others are not done or small).
    expect(await indexEventSearch(env.pool, new Date(bigCreated.getTime() + 1000))).toEqual([]);
    expect(await validIndexes()).toEqual([]);

    // Two hours later its partition is indexed; the running job's and the small one's are not.
    const later = new Date(bigCreated.getTime() + 2 * HOUR);
    expect(await indexEventSearch(env.pool, later)).toEqual([bigPartition]);
    expect(await validIndexes()).toEqual([searchIndexName(bigPartition)]);

    // Once the running job is done with its events stored, its partition follows.
    await env.pool.query(`UPDATE unified_jobs SET status = 'successful', event_processing_finished = true WHERE id = $1`, [running]);
    expect(await indexEventSearch(env.pool, later)).toEqual([partitionOf(runningCreated)]);
    expect(await validIndexes()).toEqual([searchIndexName(partitionOf(runningCreated)), searchIndexName(bigPartition)].sort());
    expect(await indexEventSearch(env.pool, later)).toEqual([]);

    // A job stuck in running: its partition waits, but not for ever (a day after its hour).
    const stuckCreated = new Date(bigCreated.getTime() - 6 * HOUR);
    await jobWithEvents(stuckCreated, 'running', EVENTS);
    const stuckHourEnd = Math.floor(stuckCreated.getTime() / HOUR) * HOUR + HOUR;
    expect(await indexEventSearch(env.pool, new Date(stuckHourEnd + STILL_WRITTEN_GRACE_MS - 60_000))).toEqual([]);
    expect(await indexEventSearch(env.pool, new Date(stuckHourEnd + STILL_WRITTEN_GRACE_MS))).toEqual([partitionOf(stuckCreated)]);
  });

  it('answers stdout__icontains from the index, with the rows a plain query gives', async () => {
    const index = searchIndexName(partitionOf((await env.pool.query('SELECT created FROM unified_jobs WHERE id = $1', [set.bigJobId])).rows[0].created));
    await env.pool.query(`ANALYZE job_events`);
    const scans = async () => Number((await env.pool.query('SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = $1', [index])).rows[0].idx_scan);
    const before = await scans();
    // Ten searches: a statement prepared once is planned without its values from the sixth run on.
    const terms = ['ITEM 3777', 'item 12345', 'host-04200.example.com] => {"msg": "TASK 84', 'item 2222', 'ITEM 31415'];
    for (const term of [...terms, ...terms]) {
      const res = await apiRequest(url, 'GET', `/api/v2/jobs/${set.bigJobId}/job_events/?stdout__icontains=${encodeURIComponent(term)}&page_size=200`, undefined, admin);
      expect(res.status, term).toBe(200);
      const { rows } = await env.pool.query(`SELECT counter FROM job_events WHERE job_id = $1 AND stdout ILIKE '%' || $2 || '%' ORDER BY counter`,
        [set.bigJobId, term.replace(/[\\%_]/g, (c) => `\\${c}`)]);
      expect(rows.length, term).toBeGreaterThan(0);
      expect(res.json.count, term).toBe(rows.length);
      expect(res.json.results.map((e: { counter: number }) => e.counter), term).toEqual(rows.map((r) => r.counter).slice(0, 200));
    }
    // Every search read the index (the web's backend reports its counts within seconds of going idle).
    await expect.poll(scans, { timeout: 20_000, interval: 500 }).toBeGreaterThanOrEqual(before + 2 * terms.length);
  });
});
