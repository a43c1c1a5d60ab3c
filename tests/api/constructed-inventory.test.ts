import { beforeAll, describe, expect, it } from 'vitest';
import { launchInventoryUpdate, launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { createProjectAndInventory, insertJobTemplate, pushedEvents, runInProcess } from '../scheduler/support.js';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Constructed inventories (AWX 22+): /constructed_inventories/ with its source's source_vars
 * and limit, ordered input inventories, and a real sync — ansible-inventory with the
 * ansible.builtin.constructed plugin over the inputs' hosts — whose result a job runs on.
 * Before, `kind: constructed` was refused.
 */
let t: TestEnv;
let api: ApiCall;

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
});

const LOCAL = { ansible_connection: 'local', ansible_python_interpreter: '{{ ansible_playbook_python }}' };

describe('constructed inventories', () => {
  let org: number;
  let project: number;
  let input1: number;
  let input2: number;
  let constructed: number;
  let source: number;
  const hostIds = new Map<string, number>();

  beforeAll(async () => {
    org = (await api('POST', '/api/v2/organizations/', { name: 'Construct Org' })).json.id;
    ({ project } = await createProjectAndInventory(t, org, {
      'hosts.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg="label={{ role_label }}"\n',
      'facts.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - set_fact:\n        deployed_as: "{{ role_label }}"\n        cacheable: true\n',
    }));
    for (const [name, hosts] of [['Input one', { 'web-1': 'web', 'db-1': 'db' }], ['Input two', { 'web-2': 'web' }]] as const) {
      const inv = await api('POST', '/api/v2/inventories/', { name, organization: org });
      expect(inv.status).toBe(201);
      for (const [host, tier] of Object.entries(hosts)) {
        const h = await api('POST', `/api/v2/inventories/${inv.json.id}/hosts/`, { name: host, variables: JSON.stringify({ ...LOCAL, tier }) });
        expect(h.status, h.text).toBe(201);
        hostIds.set(host, h.json.id);
      }
      if (name === 'Input one') input1 = inv.json.id; else input2 = inv.json.id;
    }
  });

  it('is created through /constructed_inventories/ with its own constructed source carrying source_vars and limit', async () => {
    const sourceVars = 'plugin: constructed\nstrict: true\ngroups:\n  webservers: tier == "web"\n  debian: ansible_os_family | default("") == "Debian"\n'
      + 'compose:\n  role_label: tier + "-constructed"\n';
    const res = await api('POST', '/api/v2/constructed_inventories/', { name: 'Built', organization: org, source_vars: sourceVars, limit: 'webservers' });
    expect(res.status, res.text).toBe(201);
    constructed = res.json.id;
    expect(res.json.kind).toBe('constructed');
    expect(res.json.url).toBe(`/api/v2/constructed_inventories/${constructed}/`);
    expect(res.json.source_vars).toBe(sourceVars);
    expect(res.json.limit).toBe('webservers');
    expect(res.json.related.input_inventories).toBe(`/api/v2/inventories/${constructed}/input_inventories/`);
    expect(res.json).not.toHaveProperty('host_filter');
    const sources = await api('GET', `/api/v2/inventories/${constructed}/inventory_sources/`);
    expect(sources.json.count).toBe(1);
    const s = sources.json.results[0];
    expect([s.source, s.name, s.overwrite, s.overwrite_vars, s.update_on_launch, s.limit])
      .toEqual(['constructed', 'Auto-created source for: Built', true, true, true, 'webservers']);
    source = s.id;
    // The same inventory through /inventories/ and the constructed list; regular ones are not in it.
    expect((await api('GET', `/api/v2/inventories/${constructed}/`)).json.kind).toBe('constructed');
    const list = await api('GET', '/api/v2/constructed_inventories/');
    expect(list.json.results.map((i: any) => i.id)).toEqual([constructed]);
    // A constructed inventory made through /inventories/ gets its source too.
    const plain = await api('POST', '/api/v2/inventories/', { name: 'Built too', organization: org, kind: 'constructed' });
    expect(plain.status, plain.text).toBe(201);
    expect((await api('GET', `/api/v2/inventories/${plain.json.id}/inventory_sources/`)).json.results[0].source).toBe('constructed');
  });

  it('refuses what a constructed inventory cannot hold: hosts, groups, sources, a constructed input, another plugin', async () => {
    const host = await api('POST', `/api/v2/inventories/${constructed}/hosts/`, { name: 'direct' });
    expect(host.status).toBe(400);
    expect(host.json.inventory[0]).toBe('Cannot create Host for Smart or Constructed Inventories');
    expect((await api('POST', `/api/v2/inventories/${constructed}/groups/`, { name: 'g' })).status).toBe(400);
    const src = await api('POST', '/api/v2/inventory_sources/', { name: 'mine', inventory: input1, source: 'constructed' });
    expect(src.status).toBe(400);
    expect(src.json.source[0]).toBe('constructed not a valid source for inventory');
    const changed = await api('PATCH', `/api/v2/inventory_sources/${source}/`, { source_path: 'elsewhere' });
    expect(changed.status).toBe(400);
    expect(changed.json.error).toContain("Cannot change field 'source_path'");
    const plugin = await api('PATCH', `/api/v2/constructed_inventories/${constructed}/`, { source_vars: 'plugin: script\n' });
    expect(plugin.status).toBe(400);
    expect(plugin.json.source_vars[0]).toContain('ansible.builtin.constructed');
    expect((await api('PATCH', `/api/v2/constructed_inventories/${constructed}/`, { verbosity: 5 })).status).toBe(400);
    const other = (await api('GET', '/api/v2/constructed_inventories/')).json.results[0].id;
    const self = await api('POST', `/api/v2/inventories/${constructed}/input_inventories/`, { id: other });
    expect(self.status).toBe(400);
    expect(self.json.error).toContain('cannot add a constructed inventory');
    const notConstructed = await api('POST', `/api/v2/inventories/${input1}/input_inventories/`, { id: input2 });
    expect(notConstructed.status).toBe(400);
    // Nothing of the refusals was stored.
    expect((await t.pool.query('SELECT count(*)::int AS n FROM inventory_input_inventories')).rows[0].n).toBe(0);
    expect((await t.pool.query(`SELECT source_path FROM inventory_sources WHERE id = $1`, [source])).rows[0].source_path).toBe('');
  });

  it('links an input only for a user who may use it (admin of the constructed one is not enough)', async () => {
    const user = await api('POST', `/api/v2/organizations/${org}/users/`, { username: 'cora', password: 'cora-pass' });
    expect(user.status).toBe(201);
    const roles = (await api('GET', `/api/v2/inventories/${constructed}/`)).json.summary_fields.object_roles;
    expect((await api('POST', `/api/v2/roles/${roles.admin_role.id}/users/`, { id: user.json.id })).status).toBe(204);
    const readOnly = (await api('GET', `/api/v2/inventories/${input2}/`)).json.summary_fields.object_roles;
    expect((await api('POST', `/api/v2/roles/${readOnly.read_role.id}/users/`, { id: user.json.id })).status).toBe(204);
    const cora = basicAuth('cora', 'cora-pass');
    const refused = await api('POST', `/api/v2/inventories/${constructed}/input_inventories/`, { id: input2 }, cora);
    expect(refused.status, refused.text).toBe(403);
    expect(refused.json.detail).toContain('use permission');
    expect((await t.pool.query('SELECT count(*)::int AS n FROM inventory_input_inventories')).rows[0].n).toBe(0);
    const useRole = (await api('GET', `/api/v2/inventories/${input1}/`)).json.summary_fields.object_roles;
    expect((await api('POST', `/api/v2/roles/${useRole.use_role.id}/users/`, { id: user.json.id })).status).toBe(204);
    expect((await api('POST', `/api/v2/inventories/${constructed}/input_inventories/`, { id: input1 }, cora)).status).toBe(204);
    expect((await api('POST', `/api/v2/inventories/${constructed}/input_inventories/`, { id: input2 })).status).toBe(204);
    const inputs = await api('GET', `/api/v2/inventories/${constructed}/input_inventories/`);
    expect(inputs.json.results.map((i: any) => i.id).sort()).toEqual([input1, input2].sort());
    const { rows } = await t.pool.query('SELECT input_inventory_id AS id FROM inventory_input_inventories WHERE constructed_inventory_id = $1 ORDER BY position', [constructed]);
    expect(rows.map((r) => Number(r.id))).toEqual([input1, input2]);
  });

  it('syncs by running the constructed plugin over the inputs: groups, composed vars, cached facts and the limit', async () => {
    // web-1's cached facts (a job with use_fact_cache left them) are what the plugin groups by.
    await t.pool.query(`UPDATE hosts SET ansible_facts = $2, ansible_facts_modified = now() WHERE id = $1`,
      [hostIds.get('web-1'), JSON.stringify({ ansible_os_family: 'Debian' })]);
    const update = await runInProcess(t, await launchInventoryUpdate(t.pool, source));
    expect(update.status, update.job_explanation).toBe('successful');
    const hosts = await api('GET', `/api/v2/inventories/${constructed}/hosts/?order_by=name`);
    // db-1 is outside the limit (webservers): not imported.
    expect(hosts.json.results.map((h: any) => h.name)).toEqual(['web-1', 'web-2']);
    for (const h of hosts.json.results) {
      const vars = JSON.parse(h.variables);
      expect(vars.role_label).toBe('web-constructed');
      expect(vars.tier).toBe('web');
      expect(vars).not.toHaveProperty('remote_tower_id');
      expect(h.instance_id).toBe(String(hostIds.get(h.name)));
    }
    const groups = await api('GET', `/api/v2/inventories/${constructed}/groups/?order_by=name`);
    expect(groups.json.results.map((g: any) => g.name)).toEqual(['debian', 'webservers']);
    const members = async (i: number) => (await api('GET', `/api/v2/groups/${groups.json.results[i].id}/hosts/?order_by=name`)).json.results.map((h: any) => h.name);
    expect(await members(0)).toEqual(['web-1']);
    expect(await members(1)).toEqual(['web-1', 'web-2']);

    // A host that stops matching leaves at the next sync (overwrite).
    await t.pool.query(`UPDATE hosts SET variables = $2 WHERE id = $1`, [hostIds.get('web-2'), JSON.stringify({ ...LOCAL, tier: 'db' })]);
    expect((await runInProcess(t, await launchInventoryUpdate(t.pool, source))).status).toBe('successful');
    const after = await api('GET', `/api/v2/inventories/${constructed}/hosts/`);
    expect(after.json.results.map((h: any) => h.name)).toEqual(['web-1']);
    await t.pool.query(`UPDATE hosts SET variables = $2 WHERE id = $1`, [hostIds.get('web-2'), JSON.stringify({ ...LOCAL, tier: 'web' })]);
  });

  it('fails a sync whose plugin options do not hold, with Ansible\'s reason', async () => {
    const bad = await api('POST', '/api/v2/constructed_inventories/', { name: 'Broken', organization: org, source_vars: 'strict: true\ncompose:\n  x: no_such_var + 1\n' });
    expect(bad.status).toBe(201);
    expect((await api('POST', `/api/v2/inventories/${bad.json.id}/input_inventories/`, { id: input1 })).status).toBe(204);
    const src = (await api('GET', `/api/v2/inventories/${bad.json.id}/inventory_sources/`)).json.results[0].id;
    const update = await runInProcess(t, await launchInventoryUpdate(t.pool, src));
    expect(update.status).toBe('failed');
    expect(update.job_explanation).toContain('Completely failed to parse inventory source');
    const output = (await pushedEvents(t, 'inventory_update_id', update.id)).map((e) => e.stdout).join('\n');
    expect(output).toContain('no_such_var');
    expect((await t.pool.query('SELECT count(*)::int AS n FROM hosts WHERE inventory_id = $1', [bad.json.id])).rows[0].n).toBe(0);
  });

  it('runs a job on the constructed hosts with their composed variables', async () => {
    expect((await runInProcess(t, await launchProjectUpdate(t.pool, project))).status).toBe('successful');
    // The last sync is fresh for an hour: the job needs no update before it (update_on_launch with a cache timeout).
    expect((await api('PATCH', `/api/v2/constructed_inventories/${constructed}/`, { update_cache_timeout: 3600 })).status).toBe(200);
    expect((await runInProcess(t, await launchInventoryUpdate(t.pool, source))).status).toBe('successful');
    const template = await insertJobTemplate(t.pool, { name: 'On constructed', organization_id: org, project_id: project, inventory_id: constructed, playbook: 'hosts.yml' });
    const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
    expect(job.status, job.job_explanation).toBe('successful');
    const ok = (await pushedEvents(t, 'job_id', job.id)).filter((e) => e.event === 'runner_on_ok');
    expect(ok.map((e) => e.event_data.host).sort()).toEqual(['web-1', 'web-2']);
    expect(ok.map((e) => e.event_data.res.msg)).toEqual(['label=web-constructed', 'label=web-constructed']);

    // Facts a job caches belong to the input hosts the constructed ones stand for (AWX).
    const facts = await insertJobTemplate(t.pool, { name: 'Facts on constructed', organization_id: org, project_id: project,
      inventory_id: constructed, playbook: 'facts.yml', use_fact_cache: true });
    const factJob = await runInProcess(t, await launchJobTemplate(t.pool, facts));
    expect(factJob.status, `${factJob.job_explanation} ${factJob.result_traceback}`).toBe('successful');
    const { rows } = await t.pool.query(`SELECT h.name, h.inventory_id, h.ansible_facts FROM hosts h WHERE h.ansible_facts ? 'deployed_as' ORDER BY h.name`);
    expect(rows.map((r) => [r.name, Number(r.inventory_id), r.ansible_facts.deployed_as]))
      .toEqual([['web-1', input1, 'web-constructed'], ['web-2', input2, 'web-constructed']]);
  });
});
