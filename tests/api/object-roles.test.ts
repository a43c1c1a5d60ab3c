import { beforeAll, describe, expect, it } from 'vitest';
import { OBJECT_ROLES } from '../../src/api/access.js';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, basicAuth, useSeededWeb } from '../support/web.js';

/**
 * `/<resource>/N/object_roles/` lists the object's roles however the object was made. Roles
 * are rows made lazily; the list made them only when the object itself had been serialized
 * (read or written through the API), so an object made another way (an import, a sync, the
 * seed) showed no role to grant until someone read it first — and awx.awx's role module
 * looks the role up in that list.
 */
let api: ApiCall;
let t: TestEnv;

beforeAll(async () => {
  ({ api, t } = await useSeededWeb());
});

describe('object roles', () => {
  it('are listed for an object never read through the API', async () => {
    const org = (await t.pool.query(`INSERT INTO organizations (name) VALUES ('Roles never read') RETURNING id`)).rows[0].id;
    const team = (await t.pool.query(`INSERT INTO teams (name, organization_id) VALUES ('Roles team', $1) RETURNING id`, [org])).rows[0].id;
    for (const [key, type, id] of [['organizations', 'organization', org], ['teams', 'team', team]] as const) {
      const res = await api('GET', `/api/v2/${key}/${id}/object_roles/?page_size=200`);
      expect(res.status, res.text).toBe(200);
      const fields = res.json.results.map((r: { summary_fields: { resource_type?: string }; name: string; id: number }) => r.id);
      expect(fields.length, key).toBe(OBJECT_ROLES[type].length);
      // The same roles the object's own page then shows (made once, not twice).
      const shown = Object.values((await api('GET', `/api/v2/${key}/${id}/`)).json.summary_fields.object_roles).map((r) => (r as { id: number }).id);
      expect(shown.sort(), key).toEqual([...fields].sort());
    }
  });

  it('are not made for someone who may not read the object: 403, and no role row appears', async () => {
    const org = (await t.pool.query(`INSERT INTO organizations (name) VALUES ('Roles of another org') RETURNING id`)).rows[0].id;
    const outsider = await api('POST', '/api/v2/users/', { username: 'roles-outsider', password: 'outsider-pass-1' });
    expect(outsider.status, outsider.text).toBe(201);
    const res = await api('GET', `/api/v2/organizations/${org}/object_roles/`, undefined, basicAuth('roles-outsider', 'outsider-pass-1'));
    expect([403, 404]).toContain(res.status);
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM rbac_roles WHERE resource_type = 'organization' AND resource_id = $1`, [org]);
    expect(rows[0].n).toBe(0);
  });
});
