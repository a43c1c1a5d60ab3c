import { beforeAll, describe, expect, it } from 'vitest';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';
import { createProjectAndInventory, insertJobTemplate, orgId, pushedEvents, runInProcess } from './support.js';

/**
 * The fact cache (scheduler/fact-cache.ts), with real playbooks: a job of a template with
 * use_fact_cache stores what Ansible gathered or set as cacheable into each host's facts,
 * the next job reads them without gathering, /hosts/N/ansible_facts/ shows them,
 * `ansible_facts__` host filters select on them, and clear_facts empties them. Before,
 * use_fact_cache was stored and never read.
 */
let t: TestEnv;
let url: string;
let api: ApiCall;
let template: (playbook: string, useFactCache?: boolean) => Promise<number>;
let hostId: number;
let templates = 0;

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  const org = await orgId(t.pool);
  const { project, inventory } = await createProjectAndInventory(t, org, {
    'gather.yml': '- hosts: all\n  gather_facts: true\n  gather_subset: [min]\n  tasks:\n    - set_fact:\n        deploy_color: blue\n        cacheable: true\n',
    'read.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "system={{ ansible_facts.system | default(\'unknown\') }} color={{ deploy_color | default(\'unset\') }}"\n',
    'clear.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - meta: clear_facts\n',
  });
  hostId = (await t.pool.query('SELECT id FROM hosts WHERE inventory_id = $1', [inventory])).rows[0].id;
  expect((await runInProcess(t, await launchProjectUpdate(t.pool, project))).status).toBe('successful');
  template = (playbook, useFactCache = true) => insertJobTemplate(t.pool, {
    name: `${playbook} ${useFactCache} ${++templates}`, organization_id: org, project_id: project, inventory_id: inventory, playbook, use_fact_cache: useFactCache,
  });
});

async function run(templateId: number): Promise<string> {
  const job = await runInProcess(t, await launchJobTemplate(t.pool, templateId));
  expect(job.status, job.job_explanation || job.result_traceback).toBe('successful');
  return (await pushedEvents(t, 'job_id', job.id)).map((e) => e.stdout ?? '').join('\n');
}

describe('fact cache', () => {
  it('keeps facts a job gathered or set as cacheable, and gives them to the next job', async () => {
    expect(await run(await template('read.yml'))).toContain('system=unknown color=unset');
    await run(await template('gather.yml'));
    const facts = (await api('GET', `/api/v2/hosts/${hostId}/ansible_facts/`)).json;
    expect(facts.ansible_system).toBe('Linux'); // stored as Ansible caches them, ansible_ prefixes kept (as AWX shows them)
    expect(facts.deploy_color).toBe('blue');
    expect((await api('GET', `/api/v2/hosts/${hostId}/`)).json.ansible_facts_modified).not.toBeNull();
    // The next job reads them from the cache without gathering; one without use_fact_cache does not.
    expect(await run(await template('read.yml'))).toContain('system=Linux color=blue');
    expect(await run(await template('read.yml', false))).toContain('system=unknown color=unset');
  });

  it('selects hosts on their facts with ansible_facts__ host filters', async () => {
    const find = async (filter: string) => (await api('GET', `/api/v2/hosts/?host_filter=${encodeURIComponent(filter)}`)).json.results.map((h: { id: number }) => h.id);
    expect(await find('ansible_facts__ansible_system=Linux and ansible_facts__deploy_color=blue')).toEqual([hostId]);
    expect(await find('ansible_facts__deploy_color=green')).toEqual([]);
  });

  it('empties a host\'s facts when a job clears them', async () => {
    await run(await template('clear.yml'));
    expect((await api('GET', `/api/v2/hosts/${hostId}/ansible_facts/`)).json).toEqual({});
    expect(await run(await template('read.yml'))).toContain('system=unknown color=unset');
  });
});
