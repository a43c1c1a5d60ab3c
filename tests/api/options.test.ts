import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';

/**
 * OPTIONS on lists and details as AWX's Metadata answers it: actions.POST on a list and
 * actions.PUT on a detail describe the writable fields (type, required, default, choices,
 * max_length, filterable) and appear only for a caller who may create or change; GET
 * describes what is read. awxkit's export/import reads these.
 */
let api: ApiCall;
const carol = basicAuth('carol', 'carol-password-1');

beforeAll(async () => {
  ({ api } = await useSeededWeb());
  const u = await api('POST', '/api/v2/users/', { username: 'carol', password: 'carol-password-1' });
  // A member of Default: reads its objects, administers none.
  expect((await api('POST', '/api/v2/organizations/1/users/', { id: u.json.id })).status).toBe(204);
  const read = (await api('GET', '/api/v2/inventories/1/')).json.summary_fields.object_roles.read_role;
  expect((await api('POST', `/api/v2/roles/${read.id}/users/`, { id: u.json.id })).status).toBe(204);
});

describe('OPTIONS', () => {
  it('describes a list and what POST takes, for a superuser', async () => {
    const r = await api('OPTIONS', '/api/v2/job_templates/');
    expect(r.status).toBe(200);
    expect(r.headers.get('allow')).toBe('GET, POST, HEAD, OPTIONS');
    expect(r.json).toMatchObject({ name: 'Job Template List', types: ['job_template'], max_page_size: 200 });
    expect(r.json.search_fields).toContain('name');
    const post = r.json.actions.POST;
    expect(post.name).toMatchObject({ type: 'string', required: true, label: 'Name', max_length: 512, filterable: true,
      help_text: 'Name of this job template.' });
    expect(post.job_type).toMatchObject({ type: 'choice', required: false, choices: expect.arrayContaining([['run', 'Run'], ['check', 'Check']]) });
    expect(post.inventory).toMatchObject({ type: 'id', filterable: true });
    expect(post.ask_limit_on_launch).toMatchObject({ type: 'boolean' });
    expect(post).not.toHaveProperty('id');
    expect(post).not.toHaveProperty('created');
    const get = r.json.actions.GET;
    expect(get.id).toMatchObject({ type: 'integer', label: 'Id', filterable: true, help_text: 'Database ID for this job template.' });
    expect(get.created).toMatchObject({ type: 'datetime' });
    expect(get.type).toMatchObject({ type: 'choice', choices: [['job_template', 'Job Template']] });
    expect(get.name).not.toHaveProperty('required');
  });

  it('agrees with what a write does: required fields and choices are the ones the engine checks', async () => {
    const post = (await api('OPTIONS', '/api/v2/applications/')).json.actions.POST;
    const required = Object.entries(post).filter(([, f]: [string, any]) => f.required).map(([n]) => n).sort();
    const missing = await api('POST', '/api/v2/applications/', {});
    expect(Object.keys(missing.json).sort()).toEqual(required);
    expect(post.client_type.choices.map((c: string[]) => c[0])).toEqual(['confidential', 'public']);
    expect(post).not.toHaveProperty('client_id');
    expect(post.skip_authorization).toMatchObject({ type: 'boolean', default: false });
  });

  it('offers PUT on a detail only to who may change it, and POST only to who may create', async () => {
    const admin = await api('OPTIONS', '/api/v2/inventories/1/');
    expect(admin.status).toBe(200);
    expect(admin.headers.get('allow')).toBe('GET, PUT, PATCH, DELETE, HEAD, OPTIONS');
    expect(admin.json.actions.PUT.name).toMatchObject({ type: 'string', required: true });
    expect(admin.json.object_roles ?? []).toBeInstanceOf(Array);

    const asCarol = await api('OPTIONS', '/api/v2/inventories/1/', undefined, carol);
    expect(asCarol.status).toBe(200);
    expect(asCarol.json.actions).not.toHaveProperty('PUT');
    expect(asCarol.json.actions.GET.name.type).toBe('string');
    expect((await api('PATCH', '/api/v2/inventories/1/', { name: 'x' }, carol)).status).toBe(403);

    const list = await api('OPTIONS', '/api/v2/organizations/', undefined, carol);
    expect(list.json.actions).not.toHaveProperty('POST');
    expect((await api('OPTIONS', '/api/v2/organizations/')).json.actions.POST.name.required).toBe(true);
    // A user may always make tokens for themself.
    expect((await api('OPTIONS', '/api/v2/tokens/', undefined, carol)).json.actions.POST.scope).toMatchObject({ type: 'string', default: 'write' });
  });

  it('answers a sub-list, and refuses an unknown object and an anonymous caller', async () => {
    const hosts = await api('OPTIONS', '/api/v2/inventories/1/hosts/');
    expect(hosts.json.types).toEqual(['host']);
    expect(hosts.json.actions.POST.name.required).toBe(true);
    expect((await api('OPTIONS', '/api/v2/inventories/1/hosts/', undefined, carol)).json.actions).not.toHaveProperty('POST');
    expect((await api('OPTIONS', '/api/v2/inventories/99999/')).status).toBe(404);
    expect((await api('OPTIONS', '/api/v2/inventories/', undefined, {})).status).toBe(401);
    // The root's GET is untouched.
    expect((await api('GET', '/api/v2/')).json.job_templates).toBe('/api/v2/job_templates/');
  });

  it('answers on routes the engine does not describe, as DRF does for any view, with their methods', async () => {
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0].id;
    const cases: [string, string, string][] = [
      [`/api/v2/job_templates/${jt}/launch/`, 'Job Template Launch', 'GET, POST, HEAD, OPTIONS'],
      ['/api/v2/me/', 'Me', 'GET, HEAD, OPTIONS'],
      ['/api/v2/settings/jobs/', 'Setting Detail', 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS'],
      ['/api/v2/bulk/host_delete/', 'Bulk Host Delete', 'GET, POST, HEAD, OPTIONS'],
      ['/api/v2/config/', 'Config', ''],
    ];
    for (const [path, name, allow] of cases) {
      const r = await api('OPTIONS', path);
      expect(r.status, path).toBe(200);
      expect(r.json, path).toMatchObject({ name, renders: ['application/json', 'text/html'], parses: ['application/json'] });
      if (allow) expect(r.headers.get('allow'), path).toBe(allow);
      expect(r.headers.get('allow'), path).toContain('OPTIONS');
    }
    // Signed in, as for the view itself; AWX's AllowAny paths answer anyone.
    expect((await api('OPTIONS', '/api/v2/me/', undefined, {})).status).toBe(401);
    expect((await api('OPTIONS', '/api/v2/ping/', undefined, {})).status).toBe(200);
    expect((await api('OPTIONS', '/api/v2/no_such_thing/')).status).toBe(404);
  });
});
