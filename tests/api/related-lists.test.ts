import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Read-only lists AWX serves beside its objects: a host's groups with their ancestors and a
 * group's hosts with its descendants', a project's scm inventory sources and their
 * inventories, an inventory source's schedules, an instance group's and an instance's jobs,
 * an organization's workflow job templates — each filtered by what the caller may read.
 */
let env: TestEnv;
let api: ApiCall;

beforeAll(async () => {
  ({ t: env, api } = await useSeededWeb());
});

const ids = (page: { results: { id: number }[] }) => page.results.map((r) => r.id).sort((a, b) => a - b);

describe('related lists', () => {
  it('all_groups climbs from a host through parent groups; all_hosts descends from a group through children', async () => {
    const inv = (await api('POST', '/api/v2/inventories/', { name: 'tree', organization: 1 })).json;
    const group = async (name: string) => (await api('POST', `/api/v2/inventories/${inv.id}/groups/`, { name })).json;
    const [top, mid, leaf, other] = [await group('top'), await group('mid'), await group('leaf'), await group('other')];
    expect((await api('POST', `/api/v2/groups/${top.id}/children/`, { id: mid.id })).status).toBe(204);
    expect((await api('POST', `/api/v2/groups/${mid.id}/children/`, { id: leaf.id })).status).toBe(204);
    const hostIn = async (name: string, g: { id: number }) => {
      const h = (await api('POST', `/api/v2/inventories/${inv.id}/hosts/`, { name })).json;
      expect((await api('POST', `/api/v2/groups/${g.id}/hosts/`, { id: h.id })).status).toBe(204);
      return h;
    };
    const [h1, h2, h3] = [await hostIn('h1', leaf), await hostIn('h2', mid), await hostIn('h3', other)];
    expect(ids((await api('GET', `/api/v2/hosts/${h1.id}/all_groups/`)).json)).toEqual([top.id, mid.id, leaf.id].sort((a, b) => a - b));
    expect(ids((await api('GET', `/api/v2/hosts/${h3.id}/all_groups/`)).json)).toEqual([other.id]);
    expect(ids((await api('GET', `/api/v2/groups/${top.id}/all_hosts/`)).json)).toEqual([h1.id, h2.id].sort((a, b) => a - b));
    expect(ids((await api('GET', `/api/v2/groups/${leaf.id}/all_hosts/`)).json)).toEqual([h1.id]);
  });

  it('a project\'s scm inventory sources and inventories; an inventory source\'s schedules; an organization\'s workflows', async () => {
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
    const inv = (await api('POST', '/api/v2/inventories/', { name: 'from scm', organization: 1 })).json;
    const src = (await api('POST', '/api/v2/inventory_sources/', { name: 'scm src', inventory: inv.id, source: 'scm', source_project: jt.project, source_path: 'inventory' })).json;
    expect(src.id, JSON.stringify(src)).toBeDefined();
    expect(ids((await api('GET', `/api/v2/projects/${jt.project}/scm_inventory_sources/`)).json)).toEqual([src.id]);
    expect(ids((await api('GET', `/api/v2/projects/${jt.project}/inventories/`)).json)).toEqual([inv.id]);
    const made = await api('POST', `/api/v2/inventory_sources/${src.id}/schedules/`, { name: 'hourly sync', rrule: 'DTSTART:20300101T000000Z RRULE:FREQ=HOURLY;INTERVAL=1' });
    expect(made.status, made.text).toBe(201);
    expect(ids((await api('GET', `/api/v2/inventory_sources/${src.id}/schedules/`)).json)).toEqual([made.json.id]);
    const wf = (await api('POST', '/api/v2/organizations/1/workflow_job_templates/', { name: 'org wf' })).json;
    expect(wf.organization).toBe(1);
    expect(ids((await api('GET', '/api/v2/organizations/1/workflow_job_templates/')).json)).toContain(wf.id);
  });

  it('an instance group\'s and an instance\'s jobs, and only those a member may read', async () => {
    const { rows: [node] } = await env.pool.query(`INSERT INTO instances (hostname) VALUES ('lists-node') RETURNING id, hostname`);
    const { rows: [group] } = await env.pool.query(`SELECT id FROM instance_groups ORDER BY id LIMIT 1`);
    const { rows: [job] } = await env.pool.query(
      `INSERT INTO unified_jobs (kind, name, status, execution_node, instance_group_id, organization_id) VALUES ('job', 'placed', 'successful', $1, $2, 1) RETURNING id`,
      [node.hostname, group.id]);
    await env.pool.query(`INSERT INTO unified_jobs (kind, name, status, execution_node) VALUES ('job', 'elsewhere', 'successful', 'some-other-node')`);
    expect(ids((await api('GET', `/api/v2/instance_groups/${group.id}/jobs/`)).json)).toEqual([Number(job.id)]);
    expect(ids((await api('GET', `/api/v2/instances/${node.id}/jobs/`)).json)).toEqual([Number(job.id)]);
    await api('POST', '/api/v2/users/', { username: 'lists-member', password: 'lists-pass-1' });
    const member = basicAuth('lists-member', 'lists-pass-1');
    const res = await api('GET', `/api/v2/instance_groups/${group.id}/jobs/`, undefined, member);
    expect(res.status === 403 || res.json.count === 0, res.text).toBe(true);
  });
});

describe('variable_data', () => {
  it('reads an inventory\'s, a host\'s and a group\'s variables as an object and replaces them; a reader cannot', async () => {
    const inv = (await api('POST', '/api/v2/inventories/', { name: 'vars', organization: 1, variables: 'region: eu\nsize: 3\n' })).json;
    expect((await api('GET', `/api/v2/inventories/${inv.id}/variable_data/`)).json).toEqual({ region: 'eu', size: 3 });
    const host = (await api('POST', `/api/v2/inventories/${inv.id}/hosts/`, { name: 'vh', variables: '{"port": 22}' })).json;
    expect((await api('GET', `/api/v2/hosts/${host.id}/variable_data/`)).json).toEqual({ port: 22 });
    const put = await api('PUT', `/api/v2/hosts/${host.id}/variable_data/`, { port: 2222, user: 'ops' });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toEqual({ port: 2222, user: 'ops' });
    expect((await api('GET', `/api/v2/hosts/${host.id}/`)).json.variables).toContain('2222');
    const group = (await api('POST', `/api/v2/inventories/${inv.id}/groups/`, { name: 'vg' })).json;
    expect((await api('GET', `/api/v2/groups/${group.id}/variable_data/`)).json).toEqual({});
    expect((await api('PATCH', `/api/v2/groups/${group.id}/variable_data/`, ['not', 'a', 'mapping'])).status).toBe(400);

    await api('POST', '/api/v2/organizations/1/users/', { username: 'vars-reader', password: 'vars-pass-1' });
    const roles = (await api('GET', `/api/v2/inventories/${inv.id}/object_roles/`)).json.results;
    const reader = (await api('GET', '/api/v2/users/?username=vars-reader')).json.results[0];
    await api('POST', `/api/v2/roles/${roles.find((r: { name: string }) => r.name === 'Read').id}/users/`, { id: reader.id });
    const as = basicAuth('vars-reader', 'vars-pass-1');
    expect((await api('GET', `/api/v2/inventories/${inv.id}/variable_data/`, undefined, as)).json).toEqual({ region: 'eu', size: 3 });
    expect((await api('PUT', `/api/v2/inventories/${inv.id}/variable_data/`, { region: 'us' }, as)).status).toBe(403);
    expect((await api('GET', `/api/v2/inventories/${inv.id}/variable_data/`)).json).toEqual({ region: 'eu', size: 3 });
  });
});
