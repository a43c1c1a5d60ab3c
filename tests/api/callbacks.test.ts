import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Provisioning callbacks (api/routes/callbacks.ts): the machine that calls with the
 * template's host_config_key gets a job limited to itself, found by its address among the
 * inventory's hosts; a wrong key, no or several matching hosts, and a second call while its
 * job is pending are refused. Before, host_config_key was stored and the URL answered 404.
 */
let t: TestEnv;
let url: string;
let jt: { id: number; inventory: number };
let api: ApiCall;

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  jt = (await api('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).json.results[0];
});

/** A call as the machine makes it: no user, the key in the body. */
async function call(body: string, type = 'application/json') {
  const res = await fetch(`${url}/api/v2/job_templates/${jt.id}/callback/`, { method: 'POST', body, headers: { 'content-type': type } });
  return { status: res.status, location: res.headers.get('location'), json: await res.json().catch(() => undefined) };
}

describe('provisioning callbacks', () => {
  it('refuses every call while the template has no key, and a wrong key', async () => {
    expect((await call(JSON.stringify({ host_config_key: '' }))).status).toBe(403);
    expect((await api('PATCH', `/api/v2/job_templates/${jt.id}/`, { host_config_key: 'kickstart-key' })).status).toBe(200);
    expect((await call(JSON.stringify({ host_config_key: 'wrong-key!!!!' }))).status).toBe(403);
    expect((await call(JSON.stringify({ host_config_key: 'é'.repeat('kickstart-key'.length) }))).status).toBe(403);
    expect((await call('host_config_key=wrong', 'application/x-www-form-urlencoded')).status).toBe(403);
  });

  it('launches a job limited to the calling host, found by its address', async () => {
    // The demo inventory's one host is localhost, which resolves to the test's own address.
    expect((await api('GET', `/api/v2/job_templates/${jt.id}/callback/`)).json).toEqual({ host_config_key: 'kickstart-key', matching_hosts: ['localhost'] });
    const twins = [await api('POST', '/api/v2/hosts/', { name: 'twin-a', inventory: jt.inventory, variables: 'ansible_host: 127.0.0.1' }),
      await api('POST', '/api/v2/hosts/', { name: 'twin-b', inventory: jt.inventory, variables: 'ansible_host: 127.0.0.1' })];
    expect((await call(JSON.stringify({ host_config_key: 'kickstart-key' }))).json).toEqual({ msg: 'Multiple hosts matched the request!' });
    for (const h of twins) expect((await api('DELETE', `/api/v2/hosts/${h.json.id}/`)).status).toBe(204);

    const res = await call(JSON.stringify({ host_config_key: 'kickstart-key', extra_vars: { ansible_user: 'root', x: 1 } }));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const { rows: [job] } = await t.pool.query('SELECT "limit", launch_type, extra_vars FROM unified_jobs WHERE id = $1', [res.json.job]);
    expect(res.location).toBe(`/api/v2/jobs/${res.json.job}/`);
    expect([job.limit, job.launch_type]).toEqual(['localhost', 'callback']);
    expect(job.extra_vars).toBe(''); // the template does not ask for variables: none taken
    // Its job is pending: a second call (here as a form, as curl in a kickstart sends it) waits for it.
    expect((await call('host_config_key=kickstart-key', 'application/x-www-form-urlencoded')).json).toEqual({ msg: 'Host callback job already pending.' });
  });

  it('finds no host for an address the inventory does not know', async () => {
    await t.pool.query(`UPDATE hosts SET name = 'elsewhere.invalid' WHERE inventory_id = $1`, [jt.inventory]);
    expect((await call(JSON.stringify({ host_config_key: 'kickstart-key' }))).json).toEqual({ msg: 'No matching host could be found!' });
  });
});
