import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';

/**
 * What the API refuses so that the console's set-up forms (issue 19) cannot save what AWX
 * would not: a playbook that is not one of its project's, a survey spec AWX's
 * SurveySpecView would reject; and what the console reads to decide what to offer: the
 * job template list's OPTIONS (Add only for who may use a project), a role's object name,
 * the `userLoggedIn` cookie of a session login.
 */
let t: TestEnv;
let url: string;
let api: ApiCall;
let project: number;
let template: number;
const dave = basicAuth('dave', 'dave-password-1');

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  // The Demo Project as its last update left it: a revision and the playbooks found.
  project = (await t.pool.query(`UPDATE projects SET scm_revision = 'abc123', playbook_files = '["hello_world.yml", "deploy/site.yml"]'
    WHERE name = 'Demo Project' RETURNING id`)).rows[0].id;
  template = (await api('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).json.results[0].id;
  const u = (await api('POST', '/api/v2/users/', { username: 'dave', password: 'dave-password-1' })).json;
  // Execute on the template only: may run it, may not create templates.
  const execute = (await api('GET', `/api/v2/job_templates/${template}/object_roles/?role_field=execute_role`)).json.results[0];
  expect((await api('POST', `/api/v2/users/${u.id}/roles/`, { id: execute.id })).status).toBe(204);
});

describe("a job template's playbook is one of its project's", () => {
  it('refuses a playbook the last update did not find, on create and on change, and stores nothing', async () => {
    const bad = await api('POST', '/api/v2/job_templates/', { name: 'missing playbook', project, inventory: 1, playbook: 'gone.yml' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ playbook: ['Playbook not found for project.'] });
    expect((await t.pool.query("SELECT 1 FROM job_templates WHERE name = 'missing playbook'")).rowCount).toBe(0);
    const ok = await api('POST', '/api/v2/job_templates/', { name: 'listed playbook', project, inventory: 1, playbook: 'deploy/site.yml' });
    expect(ok.status, ok.text).toBe(201);
    const change = await api('PATCH', `/api/v2/job_templates/${ok.json.id}/`, { playbook: 'hello.yml' });
    expect(change.status).toBe(400);
    expect(change.json).toEqual({ playbook: ['Playbook not found for project.'] });
    expect((await t.pool.query('SELECT playbook FROM job_templates WHERE id = $1', [ok.json.id])).rows[0].playbook).toBe('deploy/site.yml');
  });

  it("does not check a project that allows a branch override (another branch has other playbooks), as AWX", async () => {
    await t.pool.query('UPDATE projects SET allow_override = true WHERE id = $1', [project]);
    try {
      const r = await api('POST', '/api/v2/job_templates/', { name: 'other branch playbook', project, inventory: 1, playbook: 'only-on-a-branch.yml' });
      expect(r.status, r.text).toBe(201);
    } finally {
      await t.pool.query('UPDATE projects SET allow_override = false WHERE id = $1', [project]);
    }
  });

  it("checks a manual project's playbooks in its directory", async () => {
    const dir = path.join(t.dataDir, 'projects', 'manual_site');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'site.yml'), '- hosts: all\n  tasks: []\n');
    fs.writeFileSync(path.join(dir, 'vars.yml'), 'a: 1\n');
    const manual = (await api('POST', '/api/v2/projects/', { name: 'manual', organization: 1, scm_type: '', local_path: 'manual_site' })).json.id;
    expect((await api('POST', '/api/v2/job_templates/', { name: 'manual ok', project: manual, inventory: 1, playbook: 'site.yml' })).status).toBe(201);
    const notPlaybook = await api('POST', '/api/v2/job_templates/', { name: 'manual vars', project: manual, inventory: 1, playbook: 'vars.yml' });
    expect(notPlaybook.status).toBe(400);
    expect(notPlaybook.json).toEqual({ playbook: ['Playbook not found for project.'] });
  });
});

describe('survey specs are checked as AWX checks them', () => {
  const q = (over: Record<string, unknown> = {}) => ({ question_name: 'Q', variable: 'v', type: 'text', required: false, ...over });
  const cases: [string, unknown, RegExp][] = [
    ['no name', { description: '', spec: [q()] }, /Field 'name' is missing/],
    ['spec not a list', { name: '', description: '', spec: 'x' }, /Expected list of items for field 'spec'/],
    ['empty spec', { name: '', description: '', spec: [] }, /doesn't contain any items/],
    ['question not an object', { name: '', description: '', spec: ['x'] }, /Survey question 0 is not a json object/],
    ['required missing', { name: '', description: '', spec: [{ question_name: 'Q', variable: 'v', type: 'text' }] }, /'required' missing from survey question 0/],
    ['required not boolean', { name: '', description: '', spec: [q({ required: 'yes' })] }, /'required' in survey question 0 expected to be boolean/],
    ['duplicate variable', { name: '', description: '', spec: [q(), q()] }, /'variable' 'v' duplicated in survey question 1/],
    ['unknown type', { name: '', description: '', spec: [q({ type: 'date' })] }, /'date' in survey question 0 is not one of/],
    ['integer default not integer', { name: '', description: '', spec: [q({ type: 'integer', default: 'three' })] }, /Default value three in survey question 0 expected to be integer/],
    ['min not integer', { name: '', description: '', spec: [q({ min: 1.5 })] }, /The min limit in survey question 0 expected to be integer/],
    ['choices missing', { name: '', description: '', spec: [q({ type: 'multiplechoice' })] }, /must specify choices/],
    ['two defaults for a single select', { name: '', description: '', spec: [q({ type: 'multiplechoice', choices: 'a\nb', default: 'a\nb' })] }, /only have one default/],
    ['default not a choice', { name: '', description: '', spec: [q({ type: 'multiselect', choices: 'a\nb', default: 'c' })] }, /Default choice must be answered from the choices listed/],
    ['$encrypted$ on a text question', { name: '', description: '', spec: [q({ default: '$encrypted$' })] }, /reserved keyword for password question defaults/],
    ['$encrypted$ for a new password', { name: '', description: '', spec: [q({ type: 'password', default: '$encrypted$' })] }, /may not be used for new default in position 0/],
  ];
  it.each(cases)('refuses %s with 400 and keeps the stored survey', async (_why, body, message) => {
    const before = (await t.pool.query('SELECT survey_spec FROM job_templates WHERE id = $1', [template])).rows[0].survey_spec;
    const r = await api('POST', `/api/v2/job_templates/${template}/survey_spec/`, body);
    expect(r.status, r.text).toBe(400);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error).toMatch(message);
    expect((await t.pool.query('SELECT survey_spec FROM job_templates WHERE id = $1', [template])).rows[0].survey_spec).toEqual(before);
  });

  it('stores choices and defaults without blank lines, as AWX does', async () => {
    const r = await api('POST', `/api/v2/job_templates/${template}/survey_spec/`, { name: '', description: '',
      spec: [q({ type: 'multiselect', choices: 'a\n\nb\n', default: 'b\n\n' })] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.spec[0]).toMatchObject({ choices: 'a\nb', default: 'b' });
  });
});

describe('what the console reads to decide what to offer', () => {
  it("offers POST on the job template list only to who may use some project (AWX's can_add without data)", async () => {
    expect((await api('OPTIONS', '/api/v2/job_templates/', undefined, dave)).json.actions).not.toHaveProperty('POST');
    expect((await api('POST', '/api/v2/job_templates/', { name: 'by dave', project, playbook: 'hello_world.yml' }, dave)).status).toBe(403);
    const use = (await api('GET', `/api/v2/projects/${project}/`)).json.summary_fields.object_roles.use_role;
    const daveId = (await t.pool.query("SELECT id FROM users WHERE username = 'dave'")).rows[0].id;
    expect((await api('POST', `/api/v2/users/${daveId}/roles/`, { id: use.id })).status).toBe(204);
    expect((await api('OPTIONS', '/api/v2/job_templates/', undefined, dave)).json.actions).toHaveProperty('POST');
  });

  it("names a role's object in its summary", async () => {
    const daveId = (await t.pool.query("SELECT id FROM users WHERE username = 'dave'")).rows[0].id;
    const roles = (await api('GET', `/api/v2/users/${daveId}/roles/?order_by=id`)).json.results;
    expect(roles.map((r: any) => [r.summary_fields.resource_type, r.summary_fields.resource_name, r.name]))
      .toEqual(expect.arrayContaining([['job_template', 'Demo Job Template', 'Execute'], ['project', 'Demo Project', 'Use']]));
  });

  it('sets userLoggedIn at session login and clears it at logout, as AWX', async () => {
    const first = await apiRequest(url, 'GET', '/api/login/');
    const csrf = /csrftoken=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')![1];
    const res = await fetch(`${url}/api/login/`, { method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrftoken': csrf, cookie: `csrftoken=${csrf}` },
      body: new URLSearchParams({ username: 'dave', password: 'dave-password-1' }).toString() });
    expect(res.status).toBe(302);
    const set = res.headers.getSetCookie();
    expect(set.find((c) => c.startsWith('userLoggedIn='))).toMatch(/^userLoggedIn=true;.*Path=\//);
    expect(set.find((c) => c.startsWith('userLoggedIn='))).not.toMatch(/HttpOnly/);
    const failed = await fetch(`${url}/api/login/`, { method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrftoken': csrf, cookie: `csrftoken=${csrf}` },
      body: new URLSearchParams({ username: 'dave', password: 'wrong' }).toString() });
    expect(failed.status).toBe(401);
    expect(failed.headers.getSetCookie().some((c) => c.startsWith('userLoggedIn=true'))).toBe(false);
    const out = await fetch(`${url}/api/logout/`, { redirect: 'manual' });
    expect(out.headers.getSetCookie().find((c) => c.startsWith('userLoggedIn='))).toMatch(/^userLoggedIn=false;/);
  });

  it("refuses another organization's admin granting or revoking roles on a template it does not administer", async () => {
    const other = (await api('POST', '/api/v2/organizations/', { name: 'Other org' })).json.id;
    const eve = (await api('POST', '/api/v2/users/', { username: 'eve', password: 'eve-password-1' })).json.id;
    expect((await api('POST', `/api/v2/organizations/${other}/admins/`, { id: eve })).status).toBe(204);
    const asEve = basicAuth('eve', 'eve-password-1');
    const daveId = (await t.pool.query("SELECT id FROM users WHERE username = 'dave'")).rows[0].id;
    const roles = (await api('GET', `/api/v2/job_templates/${template}/`)).json.summary_fields.object_roles;
    const held = async () => (await t.pool.query(`SELECT r.role_field FROM rbac_role_users ru JOIN rbac_roles r ON r.id = ru.role_id
      WHERE ru.user_id = $1 AND r.resource_type = 'job_template' ORDER BY 1`, [daveId])).rows.map((r) => r.role_field);
    const before = await held();
    expect(before).toEqual(['execute_role']);
    for (const [path, body] of [[`/api/v2/users/${daveId}/roles/`, { id: roles.admin_role.id }], [`/api/v2/roles/${roles.admin_role.id}/users/`, { id: eve }],
      [`/api/v2/users/${daveId}/roles/`, { id: roles.execute_role.id, disassociate: true }], [`/api/v2/roles/${roles.execute_role.id}/users/`, { id: daveId, disassociate: true }]] as const) {
      const r = await api('POST', path, body, asEve);
      expect([403, 404], `${path} ${JSON.stringify(body)} → ${r.status}`).toContain(r.status);
    }
    expect(await held()).toEqual(before);
    expect([403, 404]).toContain((await api('GET', `/api/v2/job_templates/${template}/object_roles/`, undefined, asEve)).status);
  });
});
