import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, grantRole, useSeededWeb, type ApiCall } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { createProjectAndInventory, insertJobTemplate, orgId, startJobStack, storedStdout, waitForProcessed, waitForStatus } from '../scheduler/support.js';

/**
 * Issue #15: execution environments as AWX's objects. The managed global EE is the host
 * sandbox; any EE naming a container image errors its job at start (no container runtime
 * works here). Attacks first: another organization's admin, a user without use of the
 * registry credential, a member who is not EE admin, the managed EE itself.
 */
const EVE = basicAuth('eve', 'eve-pw');
const BOB = basicAuth('bob', 'bob-pw');
const MEL = basicAuth('mel', 'mel-pw');

let t: TestEnv;
let api: ApiCall;
let org: number;
let otherOrg: number;
let project: number;
let inventory: number;
let registry: number;
let sshCred: number;
let hostSandbox: number;
let stack: Awaited<ReturnType<typeof startJobStack>> | undefined;

const eeCount = async () => (await t.pool.query('SELECT count(*)::int AS n FROM execution_environments')).rows[0].n;

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  org = await orgId(t.pool);
  otherOrg = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, {
    'hello.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg="ran in the host sandbox"\n' }));
  const regType = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'registry' AND managed`)).rows[0].id;
  registry = await insertCredential(t.pool, t.secrets, { name: 'quay', organization_id: org, credential_type_id: regType,
    inputs: { host: 'quay.io', username: 'u', password: 'p' } });
  const ssh = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'ssh' AND managed LIMIT 1`)).rows[0].id;
  sshCred = await insertCredential(t.pool, t.secrets, { name: 'machine', organization_id: org, credential_type_id: ssh, inputs: { username: 'x' } });
  // bob: EE admin of org (no use of the registry credential); eve: admin of the other org; mel: a plain member of org.
  const bob = await createUser(t.pool, 'bob', 'bob-pw');
  await grantRole(t.pool, 'organization', org, 'execution_environment_admin_role', bob);
  await grantRole(t.pool, 'organization', org, 'member_role', bob);
  await grantRole(t.pool, 'organization', otherOrg, 'admin_role', await createUser(t.pool, 'eve', 'eve-pw'));
  await grantRole(t.pool, 'organization', org, 'member_role', await createUser(t.pool, 'mel', 'mel-pw'));
  hostSandbox = (await t.pool.query('SELECT id FROM execution_environments WHERE managed')).rows[0].id;
}, 60_000);
afterAll(async () => { await stack?.stop(); });

describe('the managed default', () => {
  it('is seeded global, with no image, readable by anyone', async () => {
    const res = await api('GET', `/api/v2/execution_environments/${hostSandbox}/`, undefined, MEL);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ name: 'Playstream host sandbox', organization: null, image: '', managed: true, pull: '', credential: null });
    expect((await api('GET', '/api/v2/')).json.execution_environments).toBe('/api/v2/execution_environments/');
  });

  it('cannot be changed or deleted, even by a superuser', async () => {
    expect((await api('PATCH', `/api/v2/execution_environments/${hostSandbox}/`, { image: 'quay.io/x:1' })).status).toBe(403);
    expect((await api('DELETE', `/api/v2/execution_environments/${hostSandbox}/`)).status).toBe(403);
    const row = (await t.pool.query('SELECT image FROM execution_environments WHERE id = $1', [hostSandbox])).rows[0];
    expect(row.image).toBe('');
  });
});

describe('who may make and change execution environments', () => {
  it("another organization's admin cannot create one in this organization, nor see or change its EEs", async () => {
    const before = await eeCount();
    const res = await api('POST', '/api/v2/execution_environments/', { name: 'x', image: 'quay.io/a/b:1', organization: org }, EVE);
    expect(res.status, res.text).toBe(403);
    expect(await eeCount()).toBe(before);
    const mine = await api('POST', '/api/v2/execution_environments/', { name: 'org ee', image: 'quay.io/a/b:1', organization: org });
    expect(mine.status, mine.text).toBe(201);
    expect((await api('GET', `/api/v2/execution_environments/${mine.json.id}/`, undefined, EVE)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/execution_environments/${mine.json.id}/`, { image: 'evil.io/x:1' }, EVE)).status).toBe(403);
    const list = await api('GET', '/api/v2/execution_environments/', undefined, EVE);
    expect(list.json.results.map((r: any) => r.id)).toEqual([hostSandbox]);
  });

  it('a plain member reads but cannot create; a global EE is superusers only', async () => {
    expect((await api('POST', '/api/v2/execution_environments/', { name: 'm', image: 'quay.io/a/b:1', organization: org }, MEL)).status).toBe(403);
    expect((await api('POST', '/api/v2/execution_environments/', { name: 'g', image: 'quay.io/a/b:1' }, BOB)).status).toBe(403);
    const g = await api('POST', '/api/v2/execution_environments/', { name: 'global ee', image: 'quay.io/g/g:1', pull: 'missing' });
    expect(g.status, g.text).toBe(201);
    expect(g.json).toMatchObject({ organization: null, managed: false, pull: 'missing' });
    expect((await api('PATCH', `/api/v2/execution_environments/${g.json.id}/`, { name: 'mine' }, BOB)).status).toBe(403);
  });

  it('the EE admin without use of the registry credential cannot attach it: 403, nothing stored', async () => {
    const before = await eeCount();
    const res = await api('POST', '/api/v2/execution_environments/',
      { name: 'pulls', image: 'quay.io/a/b:1', organization: org, credential: registry }, BOB);
    expect(res.status, res.text).toBe(403);
    expect(res.json.detail).toMatch(/credential/);
    expect(await eeCount()).toBe(before);
    const ok = await api('POST', '/api/v2/execution_environments/', { name: 'bobs', image: 'quay.io/a/b:2', organization: org }, BOB);
    expect(ok.status, ok.text).toBe(201);
    const attach = await api('PATCH', `/api/v2/execution_environments/${ok.json.id}/`, { credential: registry }, BOB);
    expect(attach.status).toBe(403);
    await grantRole(t.pool, 'credential', registry, 'use_role', (await t.pool.query(`SELECT id FROM users WHERE username = 'bob'`)).rows[0].id);
    const now = await api('PATCH', `/api/v2/execution_environments/${ok.json.id}/`, { credential: registry, pull: 'always' }, BOB);
    expect(now.status, now.text).toBe(200);
    expect(now.json).toMatchObject({ credential: registry, pull: 'always' });
  });

  it('bad input is a 400 naming the field', async () => {
    const post = (body: object) => api('POST', '/api/v2/execution_environments/', { name: 'bad', organization: org, ...body });
    expect((await post({})).json).toHaveProperty('image');
    expect((await post({ image: 'has space:1' })).json).toHaveProperty('image');
    expect((await post({ image: 'quay.io/a:1', pull: 'sometimes' })).json).toHaveProperty('pull');
    const notRegistry = await post({ image: 'quay.io/a:1', credential: sshCred });
    expect(notRegistry.status).toBe(400);
    expect(notRegistry.json.credential[0]).toMatch(/Container Registry/);
    const ee = (await post({ image: 'quay.io/a:1', name: 'moving' })).json.id;
    const move = await api('PATCH', `/api/v2/execution_environments/${ee}/`, { organization: otherOrg });
    expect(move.status).toBe(400);
    expect(move.json).toHaveProperty('organization');
  });

  it("a template, project or organization cannot point at another organization's EE", async () => {
    const theirs = (await api('POST', '/api/v2/execution_environments/', { name: 'theirs', image: 'quay.io/t:1', organization: otherOrg })).json.id;
    const admin = await createUser(t.pool, 'orgadmin', 'oa-pw');
    await grantRole(t.pool, 'organization', org, 'admin_role', admin);
    const OA = basicAuth('orgadmin', 'oa-pw');
    expect((await api('PATCH', `/api/v2/organizations/${org}/`, { default_environment: theirs }, OA)).status).toBe(403);
    expect((await api('PATCH', `/api/v2/projects/${project}/`, { default_environment: theirs }, OA)).status).toBe(403);
    const jt = await insertJobTemplate(t.pool, { name: 'jt-link', project_id: project, inventory_id: inventory, playbook: 'hello.yml', organization_id: org });
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { execution_environment: theirs }, OA)).status).toBe(403);
    const row = (await t.pool.query('SELECT execution_environment_id FROM job_templates WHERE id = $1', [jt])).rows[0];
    expect(row.execution_environment_id).toBeNull();
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { execution_environment: hostSandbox }, OA)).status).toBe(200);
    // A link left as it is is not checked again (awx.awx sends every field): a superuser's choice stays editable around.
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { execution_environment: theirs })).status).toBe(200);
    const same = await api('PATCH', `/api/v2/job_templates/${jt}/`, { execution_environment: theirs, description: 'kept' }, OA);
    expect(same.status, same.text).toBe(200);
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { execution_environment: hostSandbox }, OA)).status).toBe(200);
  });
});

describe('links not implemented are refused by name', () => {
  it('an inventory source or a workflow job template naming an EE: 400 on execution_environment, nothing stored', async () => {
    const src = await api('POST', '/api/v2/inventory_sources/', { name: 's', inventory, source: 'scm', source_project: project,
      source_path: 'hello.yml', execution_environment: hostSandbox });
    expect(src.status).toBe(400);
    expect(src.json).toHaveProperty('execution_environment');
    const wf = await api('POST', '/api/v2/workflow_job_templates/', { name: 'w', organization: org, execution_environment: hostSandbox });
    expect(wf.status).toBe(400);
    expect(wf.json).toHaveProperty('execution_environment');
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM workflow_job_templates WHERE name = 'w'`)).rows[0].n).toBe(0);
    const unset = await api('POST', '/api/v2/workflow_job_templates/', { name: 'w', organization: org, execution_environment: null });
    expect(unset.status, unset.text).toBe(201);
  });
});

describe('jobs run in their execution environment', () => {
  let image: number;
  let jt: number;
  const launch = async (id: number, body: object = {}) => {
    const res = await api('POST', `/api/v2/job_templates/${id}/launch/`, body);
    expect(res.status, res.text).toBe(201);
    return res;
  };

  beforeAll(async () => {
    stack = await startJobStack(t, project);
    image = (await api('POST', '/api/v2/execution_environments/', { name: 'ee image', image: 'quay.io/ansible/awx-ee:24.6.1', organization: org })).json.id;
    jt = await insertJobTemplate(t.pool, { name: 'jt-run', project_id: project, inventory_id: inventory, playbook: 'hello.yml', organization_id: org });
  }, 120_000);

  it('with nothing named, a job resolves the host sandbox, runs the playbook and records it', async () => {
    const job = await waitForProcessed(t.pool, (await launch(jt)).json.id);
    expect(job.status, job.job_explanation + job.result_traceback).toBe('successful');
    expect(await storedStdout(t.pool, job.id, job.created_iso)).toContain('ran in the host sandbox');
    const res = await api('GET', `/api/v2/jobs/${job.id}/`);
    expect(res.json.execution_environment).toBe(hostSandbox);
    expect(res.json.summary_fields.execution_environment).toMatchObject({ id: hostSandbox, name: 'Playstream host sandbox' });
  }, 120_000);

  it('resolution order: template, then project default, then organization default, then the global default', async () => {
    const resolved = async () => {
      const job = await waitForStatus(t.pool, (await launch(jt)).json.id, ['successful', 'failed', 'error']);
      return Number(job.execution_environment_id);
    };
    const orgEe = (await api('POST', '/api/v2/execution_environments/', { name: 'org default', image: 'quay.io/o:1', organization: org })).json.id;
    const projEe = (await api('POST', '/api/v2/execution_environments/', { name: 'project default', image: 'quay.io/p:1', organization: org })).json.id;
    expect((await api('PATCH', `/api/v2/organizations/${org}/`, { default_environment: orgEe })).status).toBe(200);
    expect(await resolved()).toBe(orgEe);
    expect((await api('PATCH', `/api/v2/projects/${project}/`, { default_environment: projEe })).status).toBe(200);
    expect(await resolved()).toBe(projEe);
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { execution_environment: hostSandbox })).status).toBe(200);
    expect(await resolved()).toBe(hostSandbox);
    await api('PATCH', `/api/v2/job_templates/${jt}/`, { execution_environment: null });
    await api('PATCH', `/api/v2/projects/${project}/`, { default_environment: null });
    await api('PATCH', `/api/v2/organizations/${org}/`, { default_environment: null });
    expect(await resolved()).toBe(hostSandbox);
  }, 300_000);

  it('a template naming a container image errors at start, saying no container runtime is available, running nothing', async () => {
    const imageJt = await insertJobTemplate(t.pool, { name: 'jt-image', project_id: project, inventory_id: inventory, playbook: 'hello.yml',
      organization_id: org, execution_environment_id: image });
    const job = await waitForProcessed(t.pool, (await launch(imageJt)).json.id);
    expect(job.status).toBe('error');
    expect(job.job_explanation).toMatch(/container runtime is not available here/);
    expect(job.job_explanation).toContain('quay.io/ansible/awx-ee:24.6.1');
    expect(Number(job.execution_environment_id)).toBe(image);
    expect(await storedStdout(t.pool, job.id, job.created_iso)).not.toContain('ran in the host sandbox');
  }, 120_000);

  it('the launch prompt is honored only when the template asks for it', async () => {
    const ignored = await launch(jt, { execution_environment: image });
    expect(ignored.json.ignored_fields).toEqual({ execution_environment: image });
    expect((await waitForStatus(t.pool, ignored.json.id, ['successful', 'failed', 'error'])).status).toBe('successful');
    await api('PATCH', `/api/v2/job_templates/${jt}/`, { ask_execution_environment_on_launch: true });
    expect((await api('POST', `/api/v2/job_templates/${jt}/launch/`, { execution_environment: 'x' })).json).toHaveProperty('execution_environment');
    const prompted = await launch(jt, { execution_environment: image });
    expect(prompted.json.execution_environment).toBe(image);
    const job = await waitForStatus(t.pool, prompted.json.id, ['successful', 'failed', 'error']);
    expect(job.status).toBe('error');
    expect(job.job_explanation).toMatch(/container runtime is not available here/);
    // A relaunch runs with the prompts the job was launched with, its environment included.
    const again = await api('POST', `/api/v2/jobs/${job.id}/relaunch/`, {});
    expect(again.status, again.text).toBe(201);
    expect(again.json.execution_environment).toBe(image);
    expect(Number((await waitForStatus(t.pool, again.json.id, ['successful', 'failed', 'error'])).execution_environment_id)).toBe(image);
  }, 120_000);

  it("a launcher cannot prompt another organization's EE", async () => {
    const theirs = (await t.pool.query(`SELECT id FROM execution_environments WHERE name = 'theirs'`)).rows[0].id;
    const mel = (await t.pool.query(`SELECT id FROM users WHERE username = 'mel'`)).rows[0].id;
    await grantRole(t.pool, 'job_template', jt, 'execute_role', mel);
    const before = (await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'job'`)).rows[0].n;
    const res = await api('POST', `/api/v2/job_templates/${jt}/launch/`, { execution_environment: theirs }, MEL);
    expect(res.status, res.text).toBe(403);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'job'`)).rows[0].n).toBe(before);
  });
});
