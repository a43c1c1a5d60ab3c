import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/redis-keys.js';
import { launchSystemJob } from '../../src/scheduler/launch.js';
import { runDueSchedules } from '../../src/scheduler/schedules.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { orgId, pushedEvents, runInProcess } from './support.js';

/** System jobs (run in this process: support.ts runInProcess) and the schedule pass. */
let t: TestEnv;
let subscriber: Redis;
const broadcasts: Record<string, any>[] = [];

const DAY = 86_400_000;

/** A finished job `ageMs` old with one stored event in its hour's partition; returns the job id and that partition. */
async function oldJobWithEvent(org: number, ageMs: number): Promise<{ id: number; partition: string }> {
  const at = new Date(Date.now() - ageMs);
  const { rows: [j] } = await t.pool.query(`INSERT INTO unified_jobs (kind, name, organization_id, status, created, started, finished)
    VALUES ('job', 'old', $1, 'successful', $2, $2, $2) RETURNING id`, [org, at]);
  await t.pool.query('SELECT ensure_event_partitions($1)', [at]);
  await t.pool.query(`INSERT INTO job_events (created, modified, job_created, job_id, event, counter) VALUES ($1, $1, $1, $2, 'verbose', 1)`,
    [at, j.id]);
  const iso = at.toISOString();
  return { id: j.id, partition: `job_events_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}` };
}

const exists = async (table: string) => (await t.pool.query('SELECT to_regclass($1) IS NOT NULL AS ok', [table])).rows[0].ok;

beforeAll(async () => {
  t = await useTestEnv();
  subscriber = new Redis(t.redisUrl);
  await subscriber.subscribe(redisKeys(t.config).broadcastChannel);
  subscriber.on('message', (_channel: string, message: string) => broadcasts.push(JSON.parse(message)));
});
afterAll(() => { subscriber?.disconnect(); });

describe('system jobs', () => {
  it('cleanup_jobs deletes jobs finished before the cutoff and drops their event partitions, keeping newer ones', async () => {
    const org = await orgId(t.pool);
    const old = await oldJobWithEvent(org, 100 * DAY);
    const recent = await oldJobWithEvent(org, 10 * DAY);
    expect(await exists(old.partition)).toBe(true);
    const sjt = (await t.pool.query(`INSERT INTO system_job_templates (name, job_type) VALUES ('Cleanup Job Details', 'cleanup_jobs') RETURNING id`)).rows[0].id;

    const job = await runInProcess(t, await launchSystemJob(t.pool, sjt, { extraVars: { days: 30 } }));
    expect(job.status, job.result_traceback).toBe('successful');
    const { rows: left } = await t.pool.query('SELECT id FROM unified_jobs WHERE id = ANY($1)', [[old.id, recent.id]]);
    expect(left.map((r) => r.id)).toEqual([recent.id]);
    expect(await exists(old.partition)).toBe(false);
    expect(await exists(old.partition.replace('job_events', 'project_update_events'))).toBe(false);
    expect(await exists(recent.partition)).toBe(true);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM job_events WHERE job_id = $1', [recent.id])).rows[0].n).toBe(1);
    const events = await pushedEvents(t, 'system_job_id', job.id);
    expect(events.find((e) => e.event === 'verbose')!.stdout).toMatch(/^Removed 1 jobs finished before \S+; dropped 5 event partitions$/);
    expect(events.at(-1)).toMatchObject({ event: 'EOF', final_counter: 1 });
    const { rows: [tpl] } = await t.pool.query('SELECT last_job_id, status FROM system_job_templates WHERE id = $1', [sjt]);
    expect(tpl).toEqual({ last_job_id: job.id, status: 'successful' });
  });

  it('cleanup_activitystream deletes entries older than the cutoff only', async () => {
    await t.pool.query(`INSERT INTO activity_stream ("timestamp", operation, object1) VALUES (now() - interval '40 days', 'create', 'old'),
      (now() - interval '1 day', 'create', 'new')`);
    const sjt = (await t.pool.query(`INSERT INTO system_job_templates (name, job_type) VALUES ('Cleanup Activity Stream', 'cleanup_activitystream') RETURNING id`)).rows[0].id;
    const job = await runInProcess(t, await launchSystemJob(t.pool, sjt, { extraVars: { days: 30 } }));
    expect(job.status).toBe('successful');
    const { rows } = await t.pool.query(`SELECT object1 FROM activity_stream WHERE object1 IN ('old', 'new')`);
    expect(rows).toEqual([{ object1: 'new' }]);
  });
});

describe('schedules', () => {
  it('launches a due occurrence once, advances next_run and publishes schedules-changed', async () => {
    const sjt = (await t.pool.query(`INSERT INTO system_job_templates (name, job_type) VALUES ('Scheduled cleanup', 'cleanup_activitystream') RETURNING id`)).rows[0].id;
    const now = new Date();
    const dtstart = new Date(now.getTime() - 3 * DAY).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const schedule = (await t.pool.query(`INSERT INTO schedules (name, unified_job_template_id, rrule, next_run, extra_data)
      VALUES ('daily', $1, $2, $3, '{"days": 7}') RETURNING id`, [sjt, `DTSTART:${dtstart} RRULE:FREQ=DAILY;INTERVAL=1`, new Date(now.getTime() - 1000)])).rows[0].id;

    const launched = await runDueSchedules(t.pool, t.redis, t.config, now);
    expect(launched).toHaveLength(1);
    expect(await runDueSchedules(t.pool, t.redis, t.config, now)).toEqual([]);
    const { rows: [job] } = await t.pool.query('SELECT launch_type, schedule_id, extra_vars, status FROM unified_jobs WHERE id = $1', [launched[0]]);
    expect(job).toMatchObject({ launch_type: 'scheduled', schedule_id: schedule, status: 'pending' });
    expect(JSON.parse(job.extra_vars)).toEqual({ days: 7 });
    const { rows: [s] } = await t.pool.query('SELECT next_run FROM schedules WHERE id = $1', [schedule]);
    expect(s.next_run.getTime()).toBeGreaterThan(now.getTime());
    expect(s.next_run.getTime() - now.getTime()).toBeLessThanOrEqual(DAY);
    expect(s.next_run.toISOString().slice(11, 19)).toBe(new Date(now.getTime() - 3 * DAY).toISOString().slice(11, 19));

    const changed = await (async () => {
      for (let i = 0; i < 50; i++) {
        const m = broadcasts.find((b) => b.group === 'schedules-changed');
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      return null;
    })();
    expect(changed).toEqual({ group: 'schedules-changed', messages: [{ group_name: 'schedules', schedule_id: schedule, type: 'schedule' }] });
    expect(broadcasts.filter((b) => b.group === 'schedules-changed')).toHaveLength(1);
  });
});
