import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';
import type { TestEnv } from '../support/harness.js';
import { createProjectAndInventory, insertJobTemplate, startJobStack, waitForStatus } from '../scheduler/support.js';

/**
 * AWX's bulk API against a real server, database and job stack: host_create all or nothing
 * within BULK_HOST_MAX_CREATE, job_launch as a workflow job the workflow pass runs, and the
 * refusals — a user without inventory admin, without execute, another organization's
 * inventory or credential, a prompt the template does not ask for.
 */
let t: TestEnv;
let api: ApiCall;
let org: number;
let otherOrg: number;
let project: number;
let inventory: number;
let template: number;
let strict: number;
let stack: Awaited<ReturnType<typeof startJobStack>> | undefined;
const bob = basicAuth('bob', 'bob-password-1');

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  org = (await api('POST', '/api/v2/organizations/', { name: 'Bulk Org' })).json.id;
  otherOrg = (await api('POST', '/api/v2/organizations/', { name: 'Other Org' })).json.id;
  ({ project, inventory } = await createProjectAndInventory(t, org, {
    'hello.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "hi {{ inventory_hostname }}"\n' }));
  template = await insertJobTemplate(t.pool, { name: 'Askful', organization_id: org, project_id: project, inventory_id: inventory,
    playbook: 'hello.yml', ask_limit_on_launch: true, ask_variables_on_launch: true, ask_inventory_on_launch: true });
  strict = await insertJobTemplate(t.pool, { name: 'Strict', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'hello.yml' });
  const u = await api('POST', '/api/v2/users/', { username: 'bob', password: 'bob-password-1' });
  expect((await api('POST', `/api/v2/organizations/${org}/users/`, { id: u.json.id })).status).toBe(204);
});

afterAll(async () => { await stack?.stop(); });

describe('bulk host_create', () => {
  it('creates every host in one transaction and answers as AWX', async () => {
    const r = await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [
      { name: 'web1', variables: '{"port": 80}' }, { name: 'web2', enabled: 'false', instance_id: 'i-2', description: 'two' }] });
    expect(r.status).toBe(201);
    expect(r.json.url).toBe(`/api/v2/inventories/${inventory}/`);
    expect(r.json.hosts.map((h: any) => [h.name, h.enabled, h.instance_id, h.inventory])).toEqual([
      ['web1', true, '', `/api/v2/inventories/${inventory}/`], ['web2', false, 'i-2', `/api/v2/inventories/${inventory}/`]]);
    expect(r.json.hosts[0].url).toBe(`/api/v2/hosts/${r.json.hosts[0].id}/`);
    const { rows } = await t.pool.query('SELECT name, variables FROM hosts WHERE inventory_id = $1 ORDER BY name', [inventory]);
    expect(rows.map((h) => h.name)).toEqual(['localhost', 'web1', 'web2']);
  });

  it('creates none when one is bad, a name repeats, or the batch passes BULK_HOST_MAX_CREATE', async () => {
    const count = async () => (await t.pool.query('SELECT count(*)::int AS n FROM hosts WHERE inventory_id = $1', [inventory])).rows[0].n;
    const before = await count();
    const bad = await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'ok-1' }, { name: 'x', enabled: 'maybe' }] });
    expect(bad.status).toBe(400);
    expect(bad.json.hosts[1]).toHaveProperty('enabled');
    expect((await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'ok-1' }, { name: 'web1' }] })).json.__all__[0])
      .toMatch(/Duplicates found: \["web1"\]/);
    expect((await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'ok-1', groups: ['web'] }] })).json.hosts[0])
      .toHaveProperty('groups');
    expect((await api('PATCH', '/api/v2/settings/bulk/', { BULK_HOST_MAX_CREATE: '2' })).status).toBe(200);
    const many = await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    expect(many.json.__all__).toEqual(['Number of hosts exceeds system setting BULK_HOST_MAX_CREATE']);
    expect((await api('PATCH', '/api/v2/settings/bulk/', { BULK_HOST_MAX_CREATE: 100 })).status).toBe(200);
    // The organization's max_hosts holds for the whole batch.
    await t.pool.query('UPDATE organizations SET max_hosts = $2 WHERE id = $1', [org, before + 1]);
    expect((await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'a' }, { name: 'b' }] })).status).toBe(403);
    await t.pool.query('UPDATE organizations SET max_hosts = 0 WHERE id = $1', [org]);
    expect(await count()).toBe(before);
  });

  it('refuses a user who is not admin of the inventory, and a smart inventory', async () => {
    const r = await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'sneaky' }] }, bob);
    expect(r.status).toBe(400);
    expect(r.json.__all__[0]).toBe(`Inventory with id ${inventory} not found or lack permissions to add hosts.`);
    const smart = (await api('POST', '/api/v2/inventories/', { name: 'Smart', organization: org, kind: 'smart', host_filter: 'name=web1' })).json.id;
    expect((await api('POST', '/api/v2/bulk/host_create/', { inventory: smart, hosts: [{ name: 'x' }] })).json.__all__[0]).toMatch(/manual inventories/);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM hosts WHERE name IN ('sneaky', 'x')`)).rows[0].n).toBe(0);
  });
});

describe('bulk host_delete', () => {
  const hostIds = async (names: string[]) => (await t.pool.query<{ id: string }>(
    'SELECT id FROM hosts WHERE inventory_id = $1 AND name = ANY($2) ORDER BY name', [inventory, names])).rows.map((r) => Number(r.id));

  it('deletes every host in one transaction, one activity entry per inventory, and answers as AWX', async () => {
    expect((await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'gone-1' }, { name: 'gone-2' }] })).status).toBe(201);
    const ids = await hostIds(['gone-1', 'gone-2']);
    const r = await api('POST', '/api/v2/bulk/host_delete/', { hosts: ids });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ hosts: { [ids[0]]: 'The host gone-1 was deleted', [ids[1]]: 'The host gone-2 was deleted' } });
    expect(await hostIds(['gone-1', 'gone-2'])).toEqual([]);
    const { rows: [entry] } = await t.pool.query(
      `SELECT changes FROM activity_stream WHERE object1 = 'inventory' AND changes ? 'deleted_hosts' ORDER BY id DESC LIMIT 1`);
    expect(entry.changes.deleted_hosts).toEqual([{ host_id: ids[0], host_name: 'gone-1' }, { host_id: ids[1], host_name: 'gone-2' }]);
  });

  it('deletes none when an id is missing, is not an id, or the batch passes BULK_HOST_MAX_DELETE', async () => {
    expect((await api('POST', '/api/v2/bulk/host_create/', { inventory, hosts: [{ name: 'kept-1' }, { name: 'kept-2' }] })).status).toBe(201);
    const ids = await hostIds(['kept-1', 'kept-2']);
    const missing = await api('POST', '/api/v2/bulk/host_delete/', { hosts: [ids[0], 99999999] });
    expect(missing.status).toBe(400);
    expect(missing.json.hosts).toEqual({ 99999999: 'Hosts do not exist or you lack permission to delete it' });
    expect((await api('POST', '/api/v2/bulk/host_delete/', { hosts: [ids[0], 'web1'] })).json.hosts).toEqual({ 1: ['A valid integer is required.'] });
    expect((await api('POST', '/api/v2/bulk/host_delete/', { hosts: [] })).json.hosts).toEqual(['This list may not be empty.']);
    expect((await api('POST', '/api/v2/bulk/host_delete/', { hosts: ids, inventory })).json).toHaveProperty('inventory');
    expect((await api('PATCH', '/api/v2/settings/bulk/', { BULK_HOST_MAX_DELETE: 1 })).status).toBe(200);
    expect((await api('POST', '/api/v2/bulk/host_delete/', { hosts: ids })).json)
      .toEqual({ ERROR: 'Number of hosts exceeds system setting BULK_HOST_MAX_DELETE', BULK_HOST_MAX_DELETE: 1, Hosts_count: 2 });
    expect((await api('PATCH', '/api/v2/settings/bulk/', { BULK_HOST_MAX_DELETE: 250 })).status).toBe(200);
    expect(await hostIds(['kept-1', 'kept-2'])).toEqual(ids);
  });

  it('tells a user who cannot see the hosts nothing, and refuses one who reads but does not administer the inventory', async () => {
    const ids = await hostIds(['kept-1', 'kept-2']);
    // bob is a member of the organization only: the hosts do not exist for him.
    const unseen = await api('POST', '/api/v2/bulk/host_delete/', { hosts: ids }, bob);
    expect(unseen.status).toBe(400);
    expect(Object.keys(unseen.json.hosts).map(Number).sort()).toEqual([...ids].sort());
    const read = (await api('GET', `/api/v2/inventories/${inventory}/`)).json.summary_fields.object_roles.read_role.id;
    const bobId = (await api('GET', '/api/v2/users/?username=bob')).json.results[0].id;
    expect((await api('POST', `/api/v2/roles/${read}/users/`, { id: bobId })).status).toBe(204);
    const denied = await api('POST', '/api/v2/bulk/host_delete/', { hosts: ids }, bob);
    expect(denied.status).toBe(403);
    const name = (await api('GET', `/api/v2/inventories/${inventory}/`)).json.name;
    expect(denied.json).toEqual({ inventories: { [name]: 'Lack permissions to delete hosts from this inventory.' } });
    expect((await api('POST', `/api/v2/roles/${read}/users/`, { id: bobId, disassociate: true })).status).toBe(204);
    expect(await hostIds(['kept-1', 'kept-2'])).toEqual(ids);
  });
});

describe('bulk job_launch', () => {
  it('refuses what the caller may not run or use, and prompts a template does not ask for', async () => {
    const launch = (body: unknown, headers?: Record<string, string>) => api('POST', '/api/v2/bulk/job_launch/', body, headers);
    // bob is a member of the organization, with no execute on the templates.
    const noExec = await launch({ jobs: [{ unified_job_template: template }] }, bob);
    expect(noExec.status).toBe(400);
    expect(noExec.json.__all__[0]).toBe(`Unified Job Templates {${template}} not found or you don't have permissions to access it`);
    const execute = (await api('GET', `/api/v2/job_templates/${template}/`)).json.summary_fields.object_roles.execute_role;
    const bobId = (await api('GET', '/api/v2/users/?username=bob')).json.results[0].id;
    expect((await api('POST', `/api/v2/roles/${execute.id}/users/`, { id: bobId })).status).toBe(204);
    // Execute of the template, but not use of another inventory.
    const otherInv = (await api('POST', '/api/v2/inventories/', { name: 'Elsewhere', organization: otherOrg })).json.id;
    const noUse = await launch({ jobs: [{ unified_job_template: template, inventory: otherInv }] }, bob);
    expect(noUse.json.__all__[0]).toBe(`Inventories {${otherInv}} not found or you don't have permissions to access it`);
    expect((await launch({ jobs: [{ unified_job_template: template }], organization: otherOrg }, bob)).json.__all__[0])
      .toBe(`Organization ${otherOrg} not found or you don't have permissions to access it`);
    // Prompts a template does not ask for, and fields Playstream's nodes do not have, are named.
    const prompts = await launch({ jobs: [{ unified_job_template: strict, limit: 'web1' }, { unified_job_template: template, limit: 'web1' }] });
    expect(prompts.json.jobs).toEqual([{ limit: ['Field is not configured to prompt on launch.'] }, {}]);
    const labels = await launch({ jobs: [{ unified_job_template: template, labels: [1] }] });
    expect(labels.json.jobs[0]).toEqual({ labels: ['Playstream does not support this field on a bulk job.'] });
    expect((await launch({ jobs: [{ unified_job_template: strict }], limit: 'web1' })).json.jobs[0]).toHaveProperty('limit');
    const sjt = (await t.pool.query('SELECT id FROM system_job_templates LIMIT 1')).rows[0].id;
    expect((await launch({ jobs: [{ unified_job_template: sjt }] })).json.__all__[0]).toMatch(/not allowed in bulk jobs/);
    expect((await api('PATCH', '/api/v2/settings/bulk/', { BULK_JOB_MAX_LAUNCH: 1 })).status).toBe(200);
    expect((await launch({ jobs: [{ unified_job_template: template }, { unified_job_template: template }] })).json.__all__)
      .toEqual(['Number of requested jobs exceeds system setting BULK_JOB_MAX_LAUNCH']);
    expect((await api('PATCH', '/api/v2/settings/bulk/', { BULK_JOB_MAX_LAUNCH: 100 })).status).toBe(200);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'workflow_job'`)).rows[0].n).toBe(0);
  });

  it('launches a workflow job whose nodes run the jobs with their prompts', async () => {
    stack = await startJobStack(t, project);
    const r = await api('POST', '/api/v2/bulk/job_launch/', { name: 'Two at once', jobs: [
      { unified_job_template: template, limit: 'web1', extra_data: { who: 'one' } },
      { unified_job_template: template, limit: 'localhost', identifier: 'second' }] }, bob);
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ type: 'workflow_job', name: 'Two at once', is_bulk_job: true, workflow_job_template: null });
    const done = await waitForStatus(t.pool, r.json.id, ['successful', 'failed', 'error', 'canceled'], 120_000);
    expect(done.status).toBe('successful');
    expect(Number(done.organization_id)).toBe(org);
    const { rows } = await t.pool.query(
      `SELECT n.identifier, j.status, j."limit", j.extra_vars FROM workflow_job_nodes n JOIN unified_jobs j ON j.id = n.job_id
        WHERE n.workflow_job_id = $1 ORDER BY j."limit" DESC`, [r.json.id]);
    expect(rows.map((x) => [x.status, x.limit])).toEqual([['successful', 'web1'], ['successful', 'localhost']]);
    expect(JSON.parse(rows[0].extra_vars)).toEqual({ who: 'one' });
    expect(rows[1].identifier).toBe('second');
    // Its launcher reads it (AWX's WorkflowJobAccess: created_by), and its organization's admin;
    // the organization's auditor, who reads every job of the organization's templates, does not.
    expect((await api('GET', `/api/v2/workflow_jobs/${r.json.id}/`, undefined, bob)).status).toBe(200);
    const role = async (field: string, username: string) => {
      const id = (await api('POST', '/api/v2/users/', { username, password: `${username}-password-1` })).json.id;
      const roleId = (await api('GET', `/api/v2/organizations/${org}/`)).json.summary_fields.object_roles[field].id;
      expect((await api('POST', `/api/v2/roles/${roleId}/users/`, { id })).status).toBe(204);
      return basicAuth(username, `${username}-password-1`);
    };
    const auditor = await role('auditor_role', 'carol');
    const orgAdmin = await role('admin_role', 'dave');
    expect((await api('GET', `/api/v2/workflow_jobs/${r.json.id}/`, undefined, auditor)).status).toBe(403);
    expect((await api('GET', `/api/v2/unified_jobs/?id=${r.json.id}`, undefined, auditor)).json.count).toBe(0);
    expect((await api('GET', `/api/v2/unified_jobs/?id=${r.json.id}`, undefined, orgAdmin)).json.count).toBe(1);
    // The jobs it ran are the template's: the auditor reads those.
    const children = (await api('GET', `/api/v2/jobs/?unified_job_template=${template}&launch_type=workflow`, undefined, auditor)).json;
    expect(children.count).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
