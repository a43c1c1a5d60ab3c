import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMEOUT_EXPLANATION } from '../../src/scheduler/job-states.js';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { runDueSchedules } from '../../src/scheduler/schedules.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createProjectAndInventory, insertJobTemplate, orgId, runInProcess } from './support.js';

/**
 * Issue #15: settings that were stored and never read now govern the code AWX has them
 * govern: DEFAULT_JOB_TIMEOUT and DEFAULT_PROJECT_UPDATE_TIMEOUT (a job or update without its
 * own timeout), SCHEDULE_MAX_JOBS (a schedule skips a template with that many jobs waiting).
 * Jobs run in this process through the real runner (support.ts runInProcess).
 */
let t: TestEnv;
let org: number;
let project: number;
let inventory: number;
const sockets: net.Socket[] = [];
const silent = net.createServer((s) => { sockets.push(s); });

const setting = (key: string, value: unknown) => t.pool.query(
  `INSERT INTO api_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2`, [key, JSON.stringify(value)]);

beforeAll(async () => {
  t = await useTestEnv();
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, {
    'sleep.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.command: sleep 60\n',
    'ok.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=ok\n' }));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
}, 60_000);
afterAll(() => { for (const s of sockets) s.destroy(); silent.close(); });

describe('timeouts from settings', () => {
  it('a project update without its own timeout stops at DEFAULT_PROJECT_UPDATE_TIMEOUT', async () => {
    const port = (silent.address() as net.AddressInfo).port;
    const hanging = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('hangs', $1, 'git', $2, 'hangs') RETURNING id`, [org, `https://127.0.0.1:${port}/repo.git`])).rows[0].id;
    await setting('DEFAULT_PROJECT_UPDATE_TIMEOUT', 2);
    const started = Date.now();
    const update = await runInProcess(t, await launchProjectUpdate(t.pool, hanging));
    expect(update.status).toBe('failed');
    expect(update.job_explanation).toBe(TIMEOUT_EXPLANATION);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it('a job without its own timeout stops at DEFAULT_JOB_TIMEOUT', async () => {
    await setting('DEFAULT_PROJECT_UPDATE_TIMEOUT', 0);
    const update = await runInProcess(t, await launchProjectUpdate(t.pool, project));
    expect(update.status, update.job_explanation).toBe('successful');
    await setting('DEFAULT_JOB_TIMEOUT', 2);
    const jt = await insertJobTemplate(t.pool, { name: 'sleeps', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'sleep.yml' });
    const started = Date.now();
    const job = await runInProcess(t, await launchJobTemplate(t.pool, jt));
    expect(job.status).toBe('failed');
    expect(job.job_explanation).toBe(TIMEOUT_EXPLANATION);
    expect(Date.now() - started).toBeLessThan(40_000);
  }, 90_000);
});

describe('MAX_FORKS', () => {
  it('caps a job\'s forks at run time', async () => {
    await setting('DEFAULT_JOB_TIMEOUT', 0);
    await setting('MAX_FORKS', 3);
    const jt = await insertJobTemplate(t.pool, { name: 'wide', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'ok.yml', forks: 50 });
    const job = await runInProcess(t, await launchJobTemplate(t.pool, jt));
    expect(job.status, job.job_explanation).toBe('successful');
    expect(job.forks).toBe(50);
    const args = JSON.parse(job.job_args) as string[];
    expect(args.slice(args.indexOf('--forks'), args.indexOf('--forks') + 2)).toEqual(['--forks', '3']);
  }, 60_000);
});

describe('SCHEDULE_MAX_JOBS', () => {
  it('a schedule skips its occurrence while its template has that many jobs waiting, and advances', async () => {
    await setting('SCHEDULE_MAX_JOBS', 1);
    const jt = await insertJobTemplate(t.pool, { name: 'busy', organization_id: org, inventory_id: inventory, project_id: project, playbook: 'sleep.yml' });
    const waiting = (await t.pool.query(`INSERT INTO unified_jobs (kind, name, unified_job_template_id, organization_id, status)
      VALUES ('job', 'busy', $1, $2, 'pending') RETURNING id`, [jt, org])).rows[0].id;
    const { rows: [s] } = await t.pool.query(`INSERT INTO schedules (name, unified_job_template_id, rrule, next_run)
      VALUES ('often', $1, 'DTSTART:20200101T000000Z RRULE:FREQ=DAILY;INTERVAL=1', now() - interval '1 minute') RETURNING id`, [jt]);
    expect(await runDueSchedules(t.pool, undefined, t.config)).toEqual([]);
    const { rows: [after] } = await t.pool.query('SELECT next_run > now() AS advanced FROM schedules WHERE id = $1', [s.id]);
    expect(after.advanced).toBe(true);
    await t.pool.query(`UPDATE unified_jobs SET status = 'successful' WHERE id = $1`, [waiting]);
    await t.pool.query(`UPDATE schedules SET next_run = now() - interval '1 minute' WHERE id = $1`, [s.id]);
    const launched = await runDueSchedules(t.pool, undefined, t.config);
    expect(launched).toHaveLength(1);
    await t.pool.query('DELETE FROM unified_jobs WHERE id = $1', [launched[0]]);
  });
});
