import { beforeAll, describe, expect, test } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { onCleanup, type TestEnv, useTestEnv } from '../support/harness.js';
import { createUser } from '../ws/ws-client.js';
import { startWebProcess, type WebProcess } from '../ws/web-process.js';
import { basicHeader } from './support.js';

/**
 * Issue #12, schedules' RRULE. `FREQ=HOURLY;INTERVAL=2;BYHOUR=1` from midnight visits only
 * even hours, and the rrule npm package searched for an odd one forever, so one preview
 * hung the web process for every client. The web runs here as a child process (a hang in
 * this process would hang the runner too) and every request has a deadline: on code that
 * loops, these tests fail instead of hanging. Rule evaluation is also checked to come
 * after the permission check on create and update.
 */
let env: TestEnv;
let web: WebProcess;
let base: string;
let demoTemplate: number;

/**
 * Bearer tokens, made once in beforeAll: a basic-auth request costs a full scrypt (0.6-1 s
 * on this machine), which would eat the deadlines meant for the rule.
 */
let ADMIN: string;
let NOBODY: string;
let RUNNER: string;

/** The rule: refused before any search. */
const HANGING = 'DTSTART:20300101T000000Z RRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=1';
/** Matches no day at all (February has no 30th): only the step budget ends the search. */
const NEVER = 'DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;BYMONTH=2;BYMONTHDAY=30';
const GOOD = 'DTSTART;TZID=America/New_York:20300101T090000 RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;UNTIL=20300131T090000';

interface Answer { status: number; json: any; ms: number }

/** One JSON request that must be answered within `deadlineMs`, or the test fails. */
async function call(method: string, path: string, body?: unknown, auth: string = ADMIN, deadlineMs = 1000): Promise<Answer> {
  const started = Date.now();
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method, signal: AbortSignal.timeout(deadlineMs),
      headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new Error(`${method} ${path}: no answer within ${deadlineMs} ms (${(err as Error).name})`);
  }
  const text = await res.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = text; }
  return { status: res.status, json, ms: Date.now() - started };
}

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  await createUser(env.pool, 'nobody', 'nobody-pw');
  await createUser(env.pool, 'runner', 'runner-pw');
  web = await startWebProcess(env.env);
  // A web process stuck in a loop never runs its SIGTERM handler.
  onCleanup(() => Promise.race([web.stop(), new Promise<void>((r) => setTimeout(r, 5000)).then(() => web.stop('SIGKILL'))]));
  base = `http://127.0.0.1:${web.port}`;
  const bearer = async (username: string, password: string) => {
    const created = await call('POST', '/api/v2/tokens/', {}, basicHeader(username, password), 30_000);
    expect(created.status).toBe(201);
    return `Bearer ${created.json.token}`;
  };
  [ADMIN, NOBODY, RUNNER] = [await bearer('admin', 'admin-password'), await bearer('nobody', 'nobody-pw'), await bearer('runner', 'runner-pw')];
  demoTemplate = (await call('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template', undefined, ADMIN, 10_000)).json.results[0].id;
});

describe('schedule rules cannot hang the web process', () => {
  test('the issue\'s preview answers 400 naming rrule within a second, and ping keeps answering', async () => {
    expect((await call('GET', '/api/v2/ping/')).status).toBe(200);
    const preview = await call('POST', '/api/v2/schedules/preview/', { rrule: HANGING });
    expect(preview.status).toBe(400);
    expect(preview.json.rrule.join(' ')).toMatch(/BYHOUR never matches/);
    expect(preview.ms).toBeLessThan(1000);
    expect((await call('GET', '/api/v2/ping/')).status).toBe(200);
  });

  test('a rule that matches nothing runs out of its step budget: 400 within a second, ping answered while several are in flight', async () => {
    const single = await call('POST', '/api/v2/schedules/preview/', { rrule: NEVER });
    expect(single.status).toBe(400);
    expect(single.json.rrule.join(' ')).toMatch(/needs more than \d+ steps/);
    expect(single.ms).toBeLessThan(1000);

    const previews = Array.from({ length: 5 }, () => call('POST', '/api/v2/schedules/preview/', { rrule: NEVER }, ADMIN, 3000));
    const ping = call('GET', '/api/v2/ping/', undefined, ADMIN, 2000);
    expect((await ping).status).toBe(200);
    for (const p of await Promise.all(previews)) expect(p.status).toBe(400);
  });

  test('the stored schedule\'s preview is bounded too', async () => {
    const created = await call('POST', '/api/v2/schedules/', { name: 'stored', unified_job_template: demoTemplate, rrule: GOOD });
    expect(created.status).toBe(201);
    // A rule written straight into the table, as an older version could have stored it.
    await env.pool.query('UPDATE schedules SET rrule = $2 WHERE id = $1', [created.json.id, NEVER]);
    const preview = await call('GET', `/api/v2/schedules/${created.json.id}/preview/`);
    expect(preview.status).toBe(400);
    expect(Object.keys(preview.json)).toEqual(['rrule']);
    // It can still be switched off: disabling does not evaluate the rule.
    const off = await call('PATCH', `/api/v2/schedules/${created.json.id}/`, { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ enabled: false, next_run: null });
    expect((await call('PATCH', `/api/v2/schedules/${created.json.id}/`, { enabled: true })).status).toBe(400);
  });
});

describe('schedule create and update', () => {
  test('a bad rrule is a 400 naming rrule, with AWX\'s message', async () => {
    const cases: [string, RegExp][] = [
      [HANGING, /BYHOUR never matches/],
      [NEVER, /needs more than \d+ steps/],
      ['DTSTART:NONSENSE', /Valid DTSTART required in rrule/],
      ['DTSTART:20300308T050000 RRULE:FREQ=DAILY;INTERVAL=1', /DTSTART cannot be a naive datetime/],
      ['DTSTART:20300308T050000Z DTSTART:20310308T050000Z RRULE:FREQ=DAILY;INTERVAL=1', /Multiple DTSTART is not supported/],
      ['DTSTART:20300308T050000Z', /One or more rule required in rrule/],
      ['DTSTART:20300308T050000Z RRULE:FREQ=MONTHLY;INTERVAL=1 EXDATE:20300401T050000Z', /EXDATE not allowed in rrule/],
      ['DTSTART:20300308T050000Z RRULE:FREQ=SECONDLY;INTERVAL=5;COUNT=6', /SECONDLY is not supported/],
      ['DTSTART:20300308T050000Z RRULE:FREQ=DAILY', /INTERVAL required in rrule/],
      ['DTSTART:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=2000', /COUNT > 999 is unsupported/],
      ['DTSTART:20300308T050000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5;UNTIL=20310101T000000Z', /RRULE may not contain both COUNT and UNTIL/],
      ['DTSTART:20300308T050000Z RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=1MO', /BYDAY with a numeric prefix is only supported with FREQ=MONTHLY or FREQ=YEARLY/],
      ['DTSTART;TZID=US-Eastern:20300308T050000 RRULE:FREQ=DAILY;INTERVAL=1', /A valid TZID must be provided/],
      ['DTSTART:20300308T050000Z RRULE:FREQ=SOMETIMES;INTERVAL=1', /rrule parsing failed validation: invalid 'FREQ': SOMETIMES/],
    ];
    for (const [rrule, message] of cases) {
      const res = await call('POST', '/api/v2/schedules/', { name: 'bad', unified_job_template: demoTemplate, rrule });
      expect(res.status, rrule).toBe(400);
      expect(Object.keys(res.json), rrule).toEqual(['rrule']);
      expect(res.json.rrule.join('\n'), rrule).toMatch(message);
    }
    expect((await env.pool.query(`SELECT count(*)::int AS n FROM schedules WHERE name = 'bad'`)).rows[0].n).toBe(0);
  });

  test('a good rrule stores AWX\'s computed fields', async () => {
    const res = await call('POST', '/api/v2/schedules/', { name: 'mondays and wednesdays', unified_job_template: demoTemplate, rrule: GOOD });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      timezone: 'America/New_York', until: '2030-01-31T09:00:00', enabled: true,
      dtstart: '2030-01-02T14:00:00.000Z', dtend: '2030-01-30T14:00:00.000Z', next_run: '2030-01-02T14:00:00.000Z',
    });
  });

  test('create checks the right to schedule the template before it evaluates the rule: 403, not 400, without it', async () => {
    for (const rrule of [HANGING, NEVER, 'DTSTART:NONSENSE']) {
      const res = await call('POST', '/api/v2/schedules/', { name: 'mine', unified_job_template: demoTemplate, rrule }, NOBODY);
      expect(res.status, rrule).toBe(403);
    }
    const jt = (await call('GET', `/api/v2/job_templates/${demoTemplate}/`)).json;
    expect((await call('POST', `/api/v2/roles/${jt.summary_fields.object_roles.execute_role.id}/users/`,
      { id: (await env.pool.query(`SELECT id FROM users WHERE username = 'runner'`)).rows[0].id })).status).toBe(204);
    const refused = await call('POST', '/api/v2/schedules/', { name: 'mine', unified_job_template: demoTemplate, rrule: NEVER }, RUNNER);
    expect(refused.status).toBe(400);
    expect(refused.json.rrule).toBeDefined();
    expect((await call('POST', '/api/v2/schedules/', { name: 'mine', unified_job_template: demoTemplate, rrule: GOOD }, RUNNER)).status).toBe(201);
  });

  test('update checks rights on the schedule, and on a new template, before it evaluates the rule', async () => {
    const s = (await call('POST', '/api/v2/schedules/', { name: 'to change', unified_job_template: demoTemplate, rrule: GOOD })).json;
    for (const rrule of [HANGING, NEVER]) {
      expect((await call('PATCH', `/api/v2/schedules/${s.id}/`, { rrule }, NOBODY)).status).toBe(403);
      expect((await call('PATCH', `/api/v2/schedules/${s.id}/`, { rrule }, RUNNER)).status).toBe(403);
      const asAdmin = await call('PATCH', `/api/v2/schedules/${s.id}/`, { rrule });
      expect(asAdmin.status).toBe(400);
      expect(asAdmin.json.rrule).toBeDefined();
    }
    expect((await env.pool.query('SELECT rrule FROM schedules WHERE id = $1', [s.id])).rows[0].rrule).toBe(GOOD);

    // An admin of the schedule's template may not move it onto a template they cannot run.
    const demo = (await call('GET', `/api/v2/job_templates/${demoTemplate}/`)).json;
    const other = await call('POST', '/api/v2/job_templates/', { name: 'other', inventory: demo.inventory, project: demo.project, playbook: 'hello_world.yml' });
    expect(other.status).toBe(201);
    const runnerId = (await env.pool.query(`SELECT id FROM users WHERE username = 'runner'`)).rows[0].id;
    expect((await call('POST', `/api/v2/roles/${demo.summary_fields.object_roles.admin_role.id}/users/`, { id: runnerId })).status).toBe(204);
    expect((await call('PATCH', `/api/v2/schedules/${s.id}/`, { name: 'renamed' }, RUNNER)).status).toBe(200);
    expect((await call('PATCH', `/api/v2/schedules/${s.id}/`, { unified_job_template: other.json.id, rrule: HANGING }, RUNNER)).status).toBe(403);
  });
});
