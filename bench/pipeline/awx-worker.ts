import { Redis } from 'ioredis';
import { isoUtcSql } from '../../src/db/iso-timestamp.js';
import { createPool } from '../../src/db/pool.js';
import { type ParsedEvent, parseEvent } from '../../src/pipeline/parse-event.js';

/**
 * AWX's callback-receiver algorithm (awx/main/dispatch/worker/callback.py), on our drivers:
 * one BLPOP per event, a buffer flushed at 1000 events or 1 s, one multi-row INSERT per
 * flush. The same parse/derive work per event as Playstream's, so the difference measured
 * is the consumption and insert strategy.
 */
const COLS = ['created', 'modified', 'job_created', 'job_id', 'event', 'event_data', 'failed', 'changed', 'uuid', 'parent_uuid', 'counter',
  'stdout', 'verbosity', 'start_line', 'end_line', 'host_name', 'playbook', 'play', 'role', 'task'];

export async function runAwxWorker(args: string[]): Promise<void> {
  const [redisUrl, queue, pgUrl] = args;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const pool = createPool(pgUrl, { max: 1, name: 'awx-bench' });
  const stats = { invalidUtf8: 0, badCreated: 0 };
  // Each job's created (its events' partition key), looked up once per job.
  const jobCreated = new Map<number, string>();
  let buffer: ParsedEvent[] = [];
  let last = Date.now();
  const flush = async () => {
    if (!buffer.length) return;
    const modified = new Date().toISOString();
    const values: unknown[] = [];
    const rows: string[] = [];
    for (const e of buffer) {
      const base = values.length;
      const r = e.row;
      let created = jobCreated.get(r.job_id);
      if (created === undefined) {
        const { rows: job } = await pool.query(`SELECT ${isoUtcSql('created')} AS c FROM unified_jobs WHERE id = $1`, [r.job_id]);
        jobCreated.set(r.job_id, created = job[0].c as string);
      }
      values.push(r.created || modified, modified, created, r.job_id, r.event, r.event_data, r.failed, r.changed, r.uuid, r.parent_uuid,
        r.counter, r.stdout.replace(/\0/g, ''), r.verbosity, r.start_line, r.end_line, r.host_name, r.playbook, r.play, r.role, r.task);
      rows.push(`(${COLS.map((_, i) => `$${base + i + 1}`).join(',')})`);
    }
    await pool.query(`INSERT INTO job_events (${COLS.join(',')}) VALUES ${rows.join(',')}`, values);
    // The bench's progress counter (not part of AWX's algorithm): read instead of count(*).
    await redis.incrby(`${queue}:awx-inserted`, buffer.length);
    buffer = [];
    last = Date.now();
  };
  for (;;) {
    const got = await redis.blpop(queue, `${queue}:awx-stop`, 1);
    if (got && got[0].endsWith(':awx-stop')) break;
    if (got) {
      const e = parseEvent(Buffer.from(got[1]), stats);
      if (e.ok) buffer.push(e);
    }
    if (buffer.length >= 1000 || Date.now() - last >= 1000 || (!got && buffer.length)) await flush();
  }
  await flush();
  redis.disconnect();
  await pool.end();
}
