import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisKeys } from '../../src/redis-keys.js';
import { launchSystemJob } from '../../src/scheduler/launch.js';
import { refreshNextRun, runDueSchedules } from '../../src/scheduler/schedules.js';
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
    const sjt = (await t.pool.query(`SELECT id FROM system_job_templates WHERE job_type = 'cleanup_jobs'`)).rows[0].id;

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
    const sjt = (await t.pool.query(`SELECT id FROM system_job_templates WHERE name = 'Cleanup Activity Stream'`)).rows[0].id;
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
  it('a stored rule that cannot be evaluated is disabled with next_run null and a warning, and the pass goes on', async () => {
    const sjt = (await t.pool.query(`INSERT INTO system_job_templates (name, job_type) VALUES ('Guarded cleanup', 'cleanup_activitystream') RETURNING id`)).rows[0].id;
    const now = new Date();
    const due = new Date(now.getTime() - 1000);
    // Rules the API refuses, written straight into the table as an older version could have stored them:
    // the rule (the rrule package looped on it forever), one that matches no day (only
    // the step budget ends its search) and one that is not an rrule at all.
    const rules = {
      hanging: 'DTSTART:20200101T000000Z RRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=1',
      never: 'DTSTART:20200101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;BYMONTH=2;BYMONTHDAY=30',
      garbage: 'every tuesday',
      good: `DTSTART:${new Date(now.getTime() - 3 * DAY).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')} RRULE:FREQ=HOURLY;INTERVAL=1`,
    };
    const ids: Record<string, number> = {};
    for (const [name, rrule] of Object.entries(rules)) {
      ids[name] = (await t.pool.query(`INSERT INTO schedules (name, unified_job_template_id, rrule, next_run) VALUES ($1, $2, $3, $4) RETURNING id`,
        [name, sjt, rrule, due])).rows[0].id;
    }
    const warnings: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      warnings.push(String(chunk));
      return true;
    });
    let launched: number[];
    const started = Date.now();
    try {
      launched = await runDueSchedules(t.pool, t.redis, t.config, now);
    } finally {
      spy.mockRestore();
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(launched).toHaveLength(1);
    const { rows } = await t.pool.query('SELECT name, enabled, next_run FROM schedules WHERE unified_job_template_id = $1 ORDER BY id', [sjt]);
    expect(rows.map((r) => [r.name, r.enabled, r.next_run === null])).toEqual([
      ['hanging', false, true], ['never', false, true], ['garbage', false, true], ['good', true, false]]);
    for (const name of ['hanging', 'never', 'garbage']) {
      expect(warnings.some((w) => w.includes('schedule disabled: its rrule cannot be evaluated') && w.includes(`schedule=${ids[name]} `)), name).toBe(true);
    }
    expect(warnings.join('')).toMatch(/BYHOUR never matches/);
    expect(warnings.join('')).toMatch(/needs more than \d+ steps/);

    // The same function refreshes next_run after a change, with the same guard.
    await t.pool.query('UPDATE schedules SET enabled = true, next_run = $2 WHERE id = $1', [ids.never, due]);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await refreshNextRun(t.pool, ids.never, now)).toBeNull();
    } finally {
      vi.restoreAllMocks();
    }
    expect((await t.pool.query('SELECT enabled FROM schedules WHERE id = $1', [ids.never])).rows[0].enabled).toBe(false);
    const next = await refreshNextRun(t.pool, ids.good, now);
    expect(next!.getTime()).toBeGreaterThan(now.getTime());
    expect(next!.getTime() - now.getTime()).toBeLessThanOrEqual(3_600_000);
  });

  it('a launch that fails in the database still advances next_run, so the occurrence is not retried every pass', async () => {
    // A trigger stands in for any error Postgres raises mid-launch: without a savepoint it
    // would abort the transaction that also advances next_run.
    await t.pool.query(`CREATE FUNCTION refuse_launch() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN IF NEW.name = 'Refused cleanup' THEN RAISE EXCEPTION 'launch refused'; END IF; RETURN NEW; END $$`);
    await t.pool.query('CREATE TRIGGER refuse_launch BEFORE INSERT ON unified_jobs FOR EACH ROW EXECUTE FUNCTION refuse_launch()');
    const sjt = (await t.pool.query(`INSERT INTO system_job_templates (name, job_type) VALUES ('Refused cleanup', 'cleanup_activitystream') RETURNING id`)).rows[0].id;
    const now = new Date();
    const schedule = (await t.pool.query(`INSERT INTO schedules (name, unified_job_template_id, rrule, next_run)
      VALUES ('refused', $1, 'DTSTART:20200101T000000Z RRULE:FREQ=DAILY;INTERVAL=1', $2) RETURNING id`, [sjt, new Date(now.getTime() - 1000)])).rows[0].id;
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runDueSchedules(t.pool, t.redis, t.config, now)).toEqual([]);
    } finally {
      vi.restoreAllMocks();
      await t.pool.query('DROP TRIGGER refuse_launch ON unified_jobs');
    }
    const { rows: [s] } = await t.pool.query('SELECT enabled, next_run FROM schedules WHERE id = $1', [schedule]);
    expect(s.enabled).toBe(true);
    expect(s.next_run.getTime()).toBeGreaterThan(now.getTime());
  });
});
