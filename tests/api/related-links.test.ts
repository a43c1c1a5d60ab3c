import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Every `related` link an object shows leads somewhere: a client following one (awxkit, the
 * collection's lookups) never meets a 404 for a list Playstream does not serve. Links are
 * kept only where a route answers (engine/routed.ts); here each link of one object of each
 * kind is followed for real. An action link (launch, test, webhook receiver) may answer GET
 * with 405 (POST only).
 */
let api: ApiCall;

beforeAll(async () => {
  ({ api } = await useSeededWeb());
});

describe('related links', () => {
  it('each related link of a host, group, inventory, project, template, job, credential, user, team and organization answers', async () => {
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
    const inv = (await api('POST', '/api/v2/inventories/', { name: 'links', organization: 1 })).json;
    const host = (await api('POST', `/api/v2/inventories/${inv.id}/hosts/`, { name: 'link-host' })).json;
    const group = (await api('POST', `/api/v2/inventories/${inv.id}/groups/`, { name: 'link-group' })).json;
    const src = (await api('POST', '/api/v2/inventory_sources/', { name: 'link src', inventory: inv.id, source: 'scm', source_project: jt.project, source_path: 'inventory' })).json;
    const team = (await api('POST', '/api/v2/teams/', { name: 'link team', organization: 1 })).json;
    const launched = (await api('POST', `/api/v2/job_templates/${jt.id}/launch/`, {})).json;
    const update = (await api('POST', `/api/v2/projects/${jt.project}/update/`, {})).json;
    const objects = [
      `/api/v2/hosts/${host.id}/`, `/api/v2/groups/${group.id}/`, `/api/v2/inventories/${inv.id}/`, `/api/v2/inventory_sources/${src.id}/`,
      `/api/v2/projects/${jt.project}/`, `/api/v2/job_templates/${jt.id}/`, `/api/v2/jobs/${launched.id}/`,
      `/api/v2/project_updates/${update.id ?? update.project_update}/`, `/api/v2/credentials/${jt.summary_fields.credentials?.[0]?.id ?? 1}/`,
      '/api/v2/users/1/', `/api/v2/teams/${team.id}/`, '/api/v2/organizations/1/', '/api/v2/credential_types/1/',
    ];
    const dead: string[] = [];
    let followed = 0;
    for (const path of objects) {
      const obj = await api('GET', path);
      expect(obj.status, `${path}: ${obj.text.slice(0, 200)}`).toBe(200);
      for (const [name, url] of Object.entries(obj.json.related as Record<string, string>)) {
        if (typeof url !== 'string' || !url.startsWith('/api/')) continue;
        const res = await api('GET', url);
        followed++;
        // A link to one object may name one since deleted; a link to a list must answer.
        const list = !/\/\d+\/$/.test(url);
        if (res.status >= 500 || (res.status === 404 && list)) dead.push(`${path} ${name}: ${url} → ${res.status}`);
      }
    }
    expect(followed).toBeGreaterThan(100);
    expect(dead).toEqual([]);
  });
});
