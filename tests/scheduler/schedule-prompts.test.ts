import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { runDueSchedules } from '../../src/scheduler/schedules.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, grantRole, startTestWeb, webHeard } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { createProjectAndInventory, insertJobTemplate, orgId, startJobStack, waitForProcessed } from './support.js';

/**
 * Issue #15: a schedule applies every prompt it stores, and stores only the prompts its
 * template asks for. The run goes through the real dispatcher process, whose schedule loop
 * launches the due schedule, and a real playbook; what ran is read back from the stored
 * host summaries and events.
 */
const PLAYBOOKS = {
  'tagged.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: msg=first\n      tags: [one]\n    - ansible.builtin.debug: msg=second\n      tags: [two]\n`,
};
const RULE = 'DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1';
const LOCAL = 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"';
const admin = basicAuth('admin', 'admin-password');

let t: TestEnv;
let url: string;
let org: number;
let project: number;
let inventory: number;
let stack: Awaited<ReturnType<typeof startJobStack>> | undefined;

const api = (method: string, path: string, body?: unknown) => apiRequest(url, method, path, body, admin);

beforeAll(async () => {
  t = await useTestEnv();
  await seedFirstStart(t.pool, { dataDir: t.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(t));
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, PLAYBOOKS));
}, 60_000);
afterAll(async () => { await stack?.stop(); });

async function template(cols: Record<string, unknown> = {}): Promise<number> {
  return insertJobTemplate(t.pool, { name: `jt-${Math.random()}`, organization_id: org, inventory_id: inventory, project_id: project,
    playbook: 'tagged.yml', ...cols });
}

describe('a schedule stores only what its template asks for', () => {
  it('accepts asked prompts, shows them, and clears one with null', async () => {
    const jt = await template({ ask_limit_on_launch: true, ask_forks_on_launch: true, ask_diff_mode_on_launch: true });
    const s = await api('POST', `/api/v2/job_templates/${jt}/schedules/`, { name: 'asked', rrule: RULE, limit: 'alpha', forks: '3', diff_mode: 'yes' });
    expect(s.status, s.text).toBe(201);
    expect(s.json).toMatchObject({ limit: 'alpha', forks: 3, diff_mode: true, job_tags: null, inventory: null, verbosity: null });
    const cleared = await api('PATCH', `/api/v2/schedules/${s.json.id}/`, { limit: null });
    expect(cleared.json).toMatchObject({ limit: null, forks: 3 });
    expect((await t.pool.query('SELECT launch_prompts FROM schedules WHERE id = $1', [s.json.id])).rows[0].launch_prompts)
      .toEqual({ forks: 3, diff_mode: true });
  });

  it('refuses a prompt the template does not ask for, naming the field, and stores nothing', async () => {
    const jt = await template({ ask_limit_on_launch: true });
    const res = await api('POST', '/api/v2/schedules/', { name: 'unasked', unified_job_template: jt, rrule: RULE, limit: 'a', job_tags: 'x', verbosity: 2 });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ job_tags: ['Field is not configured to prompt on launch.'], verbosity: ['Field is not configured to prompt on launch.'] });
    expect((await t.pool.query('SELECT count(*)::int AS n FROM schedules WHERE unified_job_template_id = $1', [jt])).rows[0].n).toBe(0);
    // A prompt equal to the template's own value is no prompt, as in AWX.
    expect((await api('POST', '/api/v2/schedules/', { name: 'same', unified_job_template: jt, rrule: RULE, job_type: 'run', forks: 0 })).status).toBe(201);
    const existing = (await api('POST', '/api/v2/schedules/', { name: 'later', unified_job_template: jt, rrule: RULE })).json;
    const patched = await api('PATCH', `/api/v2/schedules/${existing.id}/`, { skip_tags: 'y' });
    expect(patched.status).toBe(400);
    expect(patched.json).toEqual({ skip_tags: ['Field is not configured to prompt on launch.'] });
  });

  it('re-checks the stored prompts when the schedule moves to another template', async () => {
    const asks = await template({ ask_limit_on_launch: true });
    const strict = await template();
    const s = (await api('POST', '/api/v2/schedules/', { name: 'mover', unified_job_template: asks, rrule: RULE, limit: 'alpha' })).json;
    const moved = await api('PATCH', `/api/v2/schedules/${s.id}/`, { unified_job_template: strict });
    expect(moved.status).toBe(400);
    expect(moved.json).toEqual({ limit: ['Field is not configured to prompt on launch.'] });
  });

  it('refuses prompts on templates that take none, bad values, and fields Playstream does not run', async () => {
    const onProject = await api('POST', '/api/v2/schedules/', { name: 'p', unified_job_template: project, rrule: RULE, limit: 'x' });
    expect(onProject.status).toBe(400);
    expect(onProject.json).toEqual({ limit: ['Field is not allowed on launch.'] });
    const jt = await template({ ask_verbosity_on_launch: true, ask_forks_on_launch: true, ask_job_type_on_launch: true, ask_inventory_on_launch: true });
    for (const [field, value] of [['verbosity', 9], ['forks', -1], ['forks', '2.5'], ['job_type', 'deploy'], ['diff_mode', 'maybe'],
      ['execution_environment', 1], ['job_slice_count', 2], ['inventory', 999999]] as const) {
      const res = await api('POST', '/api/v2/schedules/', { name: `bad ${field}`, unified_job_template: jt, rrule: RULE, [field]: value });
      expect(res.status, `${field}=${value}`).toBe(400);
      expect(Object.keys(res.json), `${field}=${value}`).toEqual([field]);
    }
    const noInventory = await template({ inventory_id: null });
    const missing = await api('POST', '/api/v2/schedules/', { name: 'no inv', unified_job_template: noInventory, rrule: RULE });
    expect(missing.json).toEqual({ inventory: ['Job Template inventory is missing or undefined.'] });
  });

  it('associates credentials only where the template asks for them; labels and instance groups are refused', async () => {
    const ssh = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'ssh' AND managed LIMIT 1`)).rows[0].id;
    const cred = await insertCredential(t.pool, t.secrets, { name: 'machine', organization_id: org, credential_type_id: ssh, inputs: { username: 'u' } });
    const strict = (await api('POST', '/api/v2/schedules/', { name: 'c1', unified_job_template: await template(), rrule: RULE })).json;
    const refused = await api('POST', `/api/v2/schedules/${strict.id}/credentials/`, { id: cred });
    expect(refused.status).toBe(400);
    expect(refused.json.msg).toMatch(/not configured to accept credentials/);
    const asks = (await api('POST', '/api/v2/schedules/', { name: 'c2', unified_job_template: await template({ ask_credential_on_launch: true }), rrule: RULE })).json;
    expect((await api('POST', `/api/v2/schedules/${asks.id}/credentials/`, { id: cred })).status).toBe(204);
    expect((await api('GET', `/api/v2/schedules/${asks.id}/credentials/`)).json.results.map((c: any) => c.id)).toEqual([cred]);
    for (const list of ['labels', 'instance_groups']) {
      const read = await api('GET', `/api/v2/schedules/${asks.id}/${list}/`);
      expect(read.json.count, read.text).toBe(0);
      const res = await api('POST', `/api/v2/schedules/${asks.id}/${list}/`, { id: 1 });
      expect(res.status).toBe(400);
      expect(Object.keys(res.json)).toEqual([list]);
    }
  });
});

describe('a schedule\'s links need the caller\'s rights', () => {
  it('bob, who administers the template, cannot hand its schedule a credential or inventory he may not use', async () => {
    const bob = await createUser(t.pool, 'bob', 'bob-pw');
    const jt = await template({ ask_credential_on_launch: true, ask_inventory_on_launch: true });
    // Changing a schedule needs admin of its template here (AWX also lets an executor change the schedules they created).
    await grantRole(t.pool, 'job_template', jt, 'admin_role', bob);
    const ssh = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'ssh' AND managed LIMIT 1`)).rows[0].id;
    const theirs = await insertCredential(t.pool, t.secrets, { name: 'not bobs', organization_id: org, credential_type_id: ssh, inputs: { username: 'root' } });
    const otherInventory = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('not bobs', $1) RETURNING id`, [org])).rows[0].id;
    // Seeing them is not using them.
    await grantRole(t.pool, 'credential', theirs, 'read_role', bob);
    await grantRole(t.pool, 'inventory', otherInventory, 'read_role', bob);
    const asBob = (method: string, path: string, body?: unknown) => apiRequest(url, method, path, body, basicAuth('bob', 'bob-pw'));
    const own = await asBob('POST', '/api/v2/schedules/', { name: 'bobs', unified_job_template: jt, rrule: RULE });
    expect(own.status, own.text).toBe(201);
    const cred = await asBob('POST', `/api/v2/schedules/${own.json.id}/credentials/`, { id: theirs });
    expect(cred.status).toBe(403);
    expect(cred.json.detail).toMatch(/credential/);
    const inv = await asBob('PATCH', `/api/v2/schedules/${own.json.id}/`, { inventory: otherInventory });
    expect(inv.status).toBe(403);
    expect(inv.json.detail).toMatch(/inventory/);
    expect((await asBob('PATCH', `/api/v2/schedules/${own.json.id}/`, { limit: 'x' })).status).toBe(400);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM schedule_credentials WHERE schedule_id = $1', [own.json.id])).rows[0].n).toBe(0);
    expect((await t.pool.query('SELECT launch_prompts FROM schedules WHERE id = $1', [own.json.id])).rows[0].launch_prompts).toEqual({});
    // Granted through the API, as an admin would: the web process has heard the change by the
    // time it answers (a grant written straight to the database reaches its cache a moment later).
    const useRole = (await apiRequest(url, 'GET', `/api/v2/credentials/${theirs}/`, undefined, admin)).json.summary_fields.object_roles.use_role.id;
    expect((await apiRequest(url, 'POST', `/api/v2/roles/${useRole}/users/`, { id: bob }, admin)).status).toBe(204);
    expect((await asBob('POST', `/api/v2/schedules/${own.json.id}/credentials/`, { id: theirs })).status).toBe(204);
  });
});

describe('who may change a schedule', () => {
  it('an executor changes and deletes the schedules they created, not anyone else\'s', async () => {
    const jt = await template({ ask_limit_on_launch: true });
    const [dan, erin] = [await createUser(t.pool, 'dan', 'dan-pw'), await createUser(t.pool, 'erin', 'erin-pw')];
    for (const u of [dan, erin]) await grantRole(t.pool, 'job_template', jt, 'execute_role', u);
    const as = (who: string) => (method: string, path: string, body?: unknown) => apiRequest(url, method, path, body, basicAuth(who, `${who}-pw`));
    const mine = await as('dan')('POST', `/api/v2/job_templates/${jt}/schedules/`, { name: 'dans', rrule: RULE, limit: 'a' });
    expect(mine.status, mine.text).toBe(201);
    expect(mine.json.created_by).toBe(dan);
    expect(mine.json.summary_fields.user_capabilities.edit).toBe(true);
    expect((await as('erin')('GET', `/api/v2/schedules/${mine.json.id}/`)).json.summary_fields.user_capabilities.edit).toBe(false);
    expect((await as('erin')('PATCH', `/api/v2/schedules/${mine.json.id}/`, { limit: 'b' })).status).toBe(403);
    expect((await as('erin')('DELETE', `/api/v2/schedules/${mine.json.id}/`)).status).toBe(403);
    expect((await as('dan')('PATCH', `/api/v2/schedules/${mine.json.id}/`, { limit: 'b' })).json.limit).toBe('b');
    // Without execute any more, not even their own.
    await t.pool.query(`DELETE FROM rbac_role_users WHERE user_id = $1`, [dan]);
    await webHeard();
    expect((await as('dan')('PATCH', `/api/v2/schedules/${mine.json.id}/`, { limit: 'c' })).status).toBe(403);
    await grantRole(t.pool, 'job_template', jt, 'execute_role', dan);
    expect((await as('dan')('DELETE', `/api/v2/schedules/${mine.json.id}/`)).status).toBe(204);
  });
});

describe('a schedule\'s extra_data follows the template\'s variables prompt', () => {
  it('refuses variables the template does not ask for (the attack: extra vars past a template that takes none)', async () => {
    const jt = await template({ extra_vars: 'color: red' });
    const res = await api('POST', '/api/v2/schedules/', { name: 'vars', unified_job_template: jt, rrule: RULE, extra_data: { become_user: 'root' } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ extra_data: ['Variables become_user are not allowed on launch. Check the Prompt on Launch setting on the Job Template to include Extra Variables.'] });
    expect((await t.pool.query('SELECT count(*)::int AS n FROM schedules WHERE unified_job_template_id = $1', [jt])).rows[0].n).toBe(0);
    // The template's own value is no prompt; with ask_variables_on_launch anything goes.
    expect((await api('POST', '/api/v2/schedules/', { name: 'same vars', unified_job_template: jt, rrule: RULE, extra_data: { color: 'red' } })).status).toBe(201);
    const asks = await template({ ask_variables_on_launch: true });
    expect((await api('POST', '/api/v2/schedules/', { name: 'free vars', unified_job_template: asks, rrule: RULE, extra_data: { x: 1 } })).status).toBe(201);
    const onProject = await api('POST', '/api/v2/schedules/', { name: 'pvars', unified_job_template: project, rrule: RULE, extra_data: { x: 1 } });
    expect(onProject.json).toEqual({ extra_data: ['Field is not allowed on launch.'] });
  });

  it('checks survey answers as a launch does, required ones included', async () => {
    const spec = { name: 's', description: '', spec: [{ variable: 'size', type: 'integer', min: 1, max: 3, required: true, question_name: 'Size' }] };
    const jt = await template({ survey_enabled: true, survey_spec: JSON.stringify(spec) });
    const missing = await api('POST', '/api/v2/schedules/', { name: 'no answer', unified_job_template: jt, rrule: RULE });
    expect(missing.json).toEqual({ variables_needed_to_start: ["'size' value missing"] });
    const wrong = await api('POST', '/api/v2/schedules/', { name: 'big', unified_job_template: jt, rrule: RULE, extra_data: { size: 9 } });
    expect(wrong.status).toBe(400);
    expect(Object.keys(wrong.json)).toEqual(['variables_needed_to_start']);
    expect((await api('POST', '/api/v2/schedules/', { name: 'answered', unified_job_template: jt, rrule: RULE, extra_data: { size: 2 } })).status).toBe(201);
  });

  it('a launch drops what the template stopped accepting after the schedule was saved', async () => {
    const jt = await template({ ask_variables_on_launch: true, ask_limit_on_launch: true });
    const s = await api('POST', '/api/v2/schedules/', { name: 'then', unified_job_template: jt, rrule: RULE, extra_data: { x: 1 }, limit: 'alpha' });
    expect(s.status, s.text).toBe(201);
    await t.pool.query('UPDATE job_templates SET ask_variables_on_launch = false, ask_limit_on_launch = false WHERE id = $1', [jt]);
    await t.pool.query(`UPDATE schedules SET next_run = now() - interval '1 second' WHERE id = $1`, [s.json.id]);
    const [jobId] = await runDueSchedules(t.pool, undefined, t.config);
    const { rows: [job] } = await t.pool.query('SELECT extra_vars, "limit", schedule_id FROM unified_jobs WHERE id = $1', [jobId]);
    expect(job).toEqual({ extra_vars: '', limit: '', schedule_id: s.json.id });
    await t.pool.query('DELETE FROM unified_jobs WHERE id = $1', [jobId]);
  });
});

describe('a scheduled run uses the schedule\'s prompts', () => {
  it('runs on the prompted inventory, only the limited host, only the prompted tags', async () => {
    const other = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('two hosts', $1) RETURNING id`, [org])).rows[0].id;
    await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('alpha', $1, $2), ('beta', $1, $2)`, [other, LOCAL]);
    const jt = await template({ ask_inventory_on_launch: true, ask_limit_on_launch: true, ask_tags_on_launch: true, ask_verbosity_on_launch: true });
    const s = await api('POST', `/api/v2/job_templates/${jt}/schedules/`, { name: 'limited', rrule: RULE, inventory: other, limit: 'alpha',
      job_tags: 'two', verbosity: 1 });
    expect(s.status, s.text).toBe(201);
    stack = await startJobStack(t, project);
    // The rule's first occurrence is years away: make it due now, and the dispatcher's schedule loop launches it.
    await t.pool.query(`UPDATE schedules SET next_run = now() - interval '1 second' WHERE id = $1`, [s.json.id]);
    const job = await waitForProcessed(t.pool, await waitForScheduledJob(s.json.id));
    expect(job.status, job.result_traceback).toBe('successful');
    expect(job).toMatchObject({ launch_type: 'scheduled', limit: 'alpha', job_tags: 'two', verbosity: 1 });
    expect(Number(job.inventory_id)).toBe(other);
    expect((await api('GET', `/api/v2/schedules/${s.json.id}/jobs/`)).json.results.map((r: any) => r.id)).toEqual([job.id]);
    const hosts = await t.pool.query('SELECT host_name, ok FROM job_host_summaries WHERE job_id = $1 ORDER BY host_name', [job.id]);
    expect(hosts.rows).toEqual([{ host_name: 'alpha', ok: 1 }]);
    const { rows: ran } = await t.pool.query(`SELECT DISTINCT host_name, event_data::jsonb->'res'->>'msg' AS msg FROM job_events
      WHERE job_id = $1 AND job_created = $2 AND event = 'runner_on_ok'`, [job.id, job.created_iso]);
    expect(ran).toEqual([{ host_name: 'alpha', msg: 'second' }]);
  }, 180_000);
});

async function waitForScheduledJob(scheduleId: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { rows } = await t.pool.query('SELECT id FROM unified_jobs WHERE schedule_id = $1', [scheduleId]);
    if (rows[0]) return rows[0].id;
    if (Date.now() > deadline) throw new Error(`schedule ${scheduleId} launched nothing`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
