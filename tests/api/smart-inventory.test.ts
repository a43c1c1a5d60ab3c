import { beforeAll, describe, expect, it } from 'vitest';
import { hostFilterSql, parseHostFilter } from '../../src/db/host-filter.js';
import { InvalidFilter, Params } from '../../src/db/lookups.js';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { createProjectAndInventory, insertJobTemplate, orgId, pushedEvents, runInProcess } from '../scheduler/support.js';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * AWX's host filter (db/host-filter.ts): `?host_filter=` on /hosts/ and smart inventories,
 * whose hosts are what their filter selects in their organization, one per name, listed,
 * counted and run against. Before, `host_filter` was stored and never read and
 * `?host_filter=` was ignored, so a "smart" inventory ran on nothing and the list showed
 * every host.
 */
let t: TestEnv;
let url: string;
let api: ApiCall;

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
});

describe('host filter language', () => {
  const parsed = (s: string) => JSON.parse(JSON.stringify(parseHostFilter(s)));
  it('parses terms, and binding tighter than or, parentheses, quotes, empty and null values', () => {
    expect(parsed('name=a and name=b or name=c')).toEqual({ op: 'or', items: [{ op: 'and', items: [{ key: 'name', value: 'a' }, { key: 'name', value: 'b' }] }, { key: 'name', value: 'c' }] });
    expect(parsed('name=a and (name=b or name=c)')).toEqual({ op: 'and', items: [{ key: 'name', value: 'a' }, { op: 'or', items: [{ key: 'name', value: 'b' }, { key: 'name', value: 'c' }] }] });
    expect(parsed('name=x and instance_id=')).toEqual({ op: 'and', items: [{ key: 'name', value: 'x' }, { key: 'instance_id', value: '' }] });
    expect(parsed('last_job=null')).toEqual({ key: 'last_job', value: null });
    expect(parsed('name="null"')).toEqual({ key: 'name', value: 'null', quoted: true });
    expect(parsed('description="a (quoted) = value"')).toEqual({ key: 'description', value: 'a (quoted) = value', quoted: true });
  });

  it('reads ansible_facts__ keys as the JSON the facts must contain, typed as AWX types bare values', () => {
    const doc = (text: string) => { const p = new Params(); hostFilterSql(parseHostFilter(text), p); return JSON.parse(p.values[0] as string); };
    expect(doc('ansible_facts__os_family=Debian')).toEqual({ os_family: 'Debian' });
    expect(doc('ansible_facts__processor_count=2')).toEqual({ processor_count: 2 });
    expect(doc('ansible_facts__processor_count="2"')).toEqual({ processor_count: '2' });
    expect(doc('ansible_facts__virtual=true')).toEqual({ virtual: true });
    expect(doc('ansible_facts__default_ipv4__address__exact=10.0.0.1')).toEqual({ default_ipv4: { address: '10.0.0.1' } });
    expect(doc('ansible_facts__interfaces[]=eth0')).toEqual({ interfaces: ['eth0'] });
    expect(doc('ansible_facts__mounts[]__mount=/')).toEqual({ mounts: [{ mount: '/' }] });
  });

  it('refuses what it cannot read, naming it, instead of matching everything', () => {
    for (const [text, says] of [
      ['', 'empty'], ['name=a and', 'expected key=value'], ['(name=a', 'unbalanced'], ['name=a name=b', 'unexpected'],
      ['name="open', 'unclosed quote'], ['nosuchfield=1', 'nosuchfield'], ['name__regex=.*', 'name__regex'],
      ['ansible_facts__os__icontains=Linux', 'does not support searching with __icontains'], ['enabled=maybe', 'boolean'],
      ['groups__name__icontains=', ''],
    ] as const) {
      const compile = () => hostFilterSql(parseHostFilter(text), new Params());
      if (text === 'groups__name__icontains=') { expect(compile()).toContain('group_hosts'); continue; }
      expect(compile, text).toThrow(InvalidFilter);
      expect(compile, text).toThrow(says);
    }
  });
});

describe('smart inventories and ?host_filter=', () => {
  let org: number;
  let invA: number;
  let smart: number;
  let project: number;

  beforeAll(async () => {
    org = await orgId(t.pool);
    ({ project, inventory: invA } = await createProjectAndInventory(t, org, {
      'hosts.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg="{{ inventory_hostname }}"\n',
    }));
    await t.pool.query('DELETE FROM hosts WHERE inventory_id = $1', [invA]);
    const local = 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"';
    const invB = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('B', $1) RETURNING id`, [org])).rows[0].id;
    const other = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('Elsewhere', $1) RETURNING id`, [await orgId(t.pool)])).rows[0].id;
    const host = async (inv: number, name: string, enabled = true) =>
      (await t.pool.query('INSERT INTO hosts (name, inventory_id, variables, enabled) VALUES ($1, $2, $3, $4) RETURNING id', [name, inv, local, enabled])).rows[0].id;
    const prod = (await t.pool.query(`INSERT INTO groups (name, inventory_id) VALUES ('prod', $1) RETURNING id`, [invA])).rows[0].id;
    for (const h of [await host(invA, 'web-1'), await host(invA, 'db-1')]) await t.pool.query('INSERT INTO group_hosts (group_id, host_id) VALUES ($1, $2)', [prod, h]);
    await host(invA, 'web-2');
    await host(invB, 'web-1'); // the same name in another inventory: listed once
    await host(invB, 'web-3');
    await host(invB, 'web-4', false);
    await host(other, 'web-9'); // another organization's: never a member
  });

  const names = (res: { json: { results: { name: string }[] } }) => res.json.results.map((h) => h.name);

  it('refuses a smart inventory without a filter, one that does not parse, and hosts added to it', async () => {
    const bad = async (body: Record<string, unknown>, field: string, says: string) => {
      const res = await api('POST', '/api/v2/inventories/', { name: `bad ${Math.random()}`, organization: org, ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(res.json[field])).toContain(says);
    };
    await bad({ kind: 'smart' }, 'host_filter', 'must specify host_filter');
    await bad({ kind: 'smart', host_filter: 'name=web and' }, 'host_filter', 'expected key=value');
    await bad({ kind: 'smart', host_filter: 'ansible_facts__distribution__startswith=Deb' }, 'host_filter', 'does not support');
    await bad({ host_filter: 'name=web-1' }, 'host_filter', 'smart inventories only');
    const created = await api('POST', '/api/v2/inventories/', { name: 'Smart web', organization: org, kind: 'smart',
      host_filter: 'name__startswith=web and groups__name=prod or name=web-3 or name=web-4 or (inventory__name=B and name=web-1)' });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    smart = created.json.id;
    const host = await api('POST', `/api/v2/inventories/${smart}/hosts/`, { name: 'added' });
    expect(host.status).toBe(400);
    expect(host.json.inventory[0]).toBe('Cannot create Host for Smart or Constructed Inventories');
    expect((await api('PATCH', `/api/v2/inventories/${smart}/`, { kind: '' })).status).toBe(400);
  });

  it('lists and counts the hosts its filter selects in its organization, one per name', async () => {
    const hosts = await api("GET", `/api/v2/inventories/${smart}/hosts/?order_by=name`);
    expect(hosts.status, hosts.text).toBe(200);
    expect(names(hosts)).toEqual(['web-1', 'web-3', 'web-4']);
    expect(hosts.json.results[0].inventory).toBe(invA); // both web-1 match: the oldest is listed
    expect((await api('GET', `/api/v2/inventories/${smart}/`)).json.total_hosts).toBe(3);
    expect((await api('GET', `/api/v2/inventories/${invA}/`)).json.total_hosts).toBe(3);
  });

  it('filters /hosts/ by ?host_filter= and answers 400 to one it cannot read', async () => {
    const q = encodeURIComponent(`groups__name=prod or (name__icontains=WEB and enabled=false)`);
    const res = await api('GET', `/api/v2/hosts/?host_filter=${q}&order_by=name`);
    expect(res.status).toBe(200);
    expect(names(res)).toEqual(['db-1', 'web-1', 'web-4']);
    const bad = await api('GET', `/api/v2/hosts/?host_filter=${encodeURIComponent('name=a or')}`);
    expect(bad.status).toBe(400);
    expect(bad.json.detail).toContain('Invalid host filter');
  });

  it('runs a job on exactly the hosts it selects, and follows a host that stops matching', async () => {
    expect((await runInProcess(t, await launchProjectUpdate(t.pool, project))).status).toBe('successful');
    const template = await insertJobTemplate(t.pool, { name: 'On smart', organization_id: org, project_id: project, inventory_id: smart, playbook: 'hosts.yml' });
    const ranOn = async () => {
      const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
      expect(job.status, job.job_explanation).toBe('successful');
      const events = await pushedEvents(t, 'job_id', job.id);
      return [...new Set(events.filter((e) => e.event === 'runner_on_ok').map((e) => e.event_data.host))].sort();
    };
    // web-4 is disabled: listed (AWX lists it) but not run.
    expect(await ranOn()).toEqual(['web-1', 'web-3']);
    await t.pool.query(`UPDATE hosts SET name = 'app-3' WHERE name = 'web-3'`);
    await t.pool.query(`DELETE FROM group_hosts WHERE host_id IN (SELECT id FROM hosts WHERE name = 'web-1' AND inventory_id = $1)`, [invA]);
    expect(await ranOn()).toEqual(['web-1']); // now B's web-1, the only one left matching
    await t.pool.query(`UPDATE hosts SET enabled = true WHERE name = 'web-4'`);
    expect(await ranOn()).toEqual(['web-1', 'web-4']);
  });
});
