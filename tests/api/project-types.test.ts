import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiCall, useSeededWeb } from '../support/web.js';

/** What the project API refuses for svn and archive projects, naming the field, before any update runs. */
let api: ApiCall;
beforeAll(async () => { ({ api } = await useSeededWeb()); });

describe('svn, archive and insights projects through the API', () => {
  it('refuses URLs and revisions the update could not use, and the insights type', async () => {
    const org = (await api('GET', '/api/v2/organizations/')).json.results[0].id;
    const post = (body: Record<string, unknown>) => api('POST', '/api/v2/projects/', { name: `p ${Math.random()}`, organization: org, ...body });
    for (const [body, field, says] of [
      [{ scm_type: 'svn', scm_url: 'ext::sh -c id' }, 'scm_url', 'is refused'],
      [{ scm_type: 'svn', scm_url: 'ext::ssh' }, 'scm_url', 'expected an'],
      [{ scm_type: 'svn', scm_url: 'svn+evil://host/repo' }, 'scm_url', 'expected an'],
      [{ scm_type: 'svn', scm_url: 'svn://host/repo', scm_branch: 'trunk' }, 'scm_branch', 'number or HEAD'],
      [{ scm_type: 'archive', scm_url: 'file:///etc/passwd' }, 'scm_url', 'http or https'],
      [{ scm_type: 'archive', scm_url: 'https://user:pw@example.com/a.tgz' }, 'scm_url', 'credential'],
      [{ scm_type: 'insights', scm_url: 'https://example.com' }, 'scm_type', 'not supported'],
    ] as const) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(res.json[field]), JSON.stringify(body)).toContain(says);
    }
    const ok = await post({ scm_type: 'svn', scm_url: 'svn://127.0.0.1:1/repo', scm_branch: '12' });
    expect(ok.status, ok.text).toBe(201);
    expect((await api('PATCH', `/api/v2/projects/${ok.json.id}/`, { scm_branch: 'x y' })).status).toBe(400);
  });
});
