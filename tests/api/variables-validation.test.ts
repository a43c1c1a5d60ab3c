import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Variables are checked as AWX's vars_validate_or_raise checks them: empty, or JSON or YAML
 * text parsing to a mapping; anything else is a 400 naming the field, and nothing is stored.
 * Before, inventory/host/group variables and a template's extra_vars were saved whatever
 * they held, and the first job using them failed (or silently ran without them).
 */
let t: TestEnv;
let api: ApiCall;
let inventory: number;
let project: number;

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  inventory = Number((await t.pool.query("SELECT id FROM inventories WHERE name = 'Demo Inventory'")).rows[0].id);
  project = Number((await t.pool.query("SELECT id FROM projects WHERE name = 'Demo Project'")).rows[0].id);
});

const BAD = [
  ['unclosed flow', 'a: [1, 2'],
  ['a list, not a mapping', '- a\n- b'],
  ['a bare value', '42'],
  ['broken JSON', '{"a": 1,'],
] as const;

describe('variables must parse to a mapping', () => {
  it('refuses bad inventory, host and group variables with a 400 naming the field, storing nothing', async () => {
    const org = Number((await t.pool.query("SELECT id FROM organizations WHERE name = 'Default'")).rows[0].id);
    for (const [what, text] of BAD) {
      const inv = await api('POST', '/api/v2/inventories/', { name: `bad ${what}`, organization: org, variables: text });
      expect(inv.status, what).toBe(400);
      expect(inv.json.variables?.[0], what).toMatch(/variables/);
      const host = await api('POST', '/api/v2/hosts/', { name: `h-${what.replace(/\W/g, '')}`, inventory, variables: text });
      expect(host.status, what).toBe(400);
      expect(Object.keys(host.json), what).toEqual(['variables']);
      const group = await api('POST', '/api/v2/groups/', { name: `g-${what.replace(/\W/g, '')}`, inventory, variables: text });
      expect(group.status, what).toBe(400);
    }
    expect((await t.pool.query("SELECT count(*)::int AS n FROM inventories WHERE name LIKE 'bad %'")).rows[0].n).toBe(0);
    expect((await t.pool.query("SELECT count(*)::int AS n FROM hosts WHERE name LIKE 'h-%'")).rows[0].n).toBe(0);
    // An edit with bad variables leaves the stored ones alone.
    const patched = await api('PATCH', `/api/v2/inventories/${inventory}/`, { variables: 'x: [' });
    expect(patched.status).toBe(400);
    expect((await t.pool.query('SELECT variables FROM inventories WHERE id = $1', [inventory])).rows[0].variables).not.toBe('x: [');
  });

  it('keeps good YAML and JSON text as given', async () => {
    const yaml = '# comment kept\nfoo: bar\nlist: [1, 2]\n';
    const host = await api('POST', '/api/v2/hosts/', { name: 'good-yaml', inventory, variables: yaml });
    expect(host.status).toBe(201);
    expect(host.json.variables).toBe(yaml);
    const json = await api('PATCH', `/api/v2/hosts/${host.json.id}/`, { variables: '{"a": 1}' });
    expect(json.status, json.text).toBe(200);
    expect(json.json.variables).toBe('{"a": 1}');
    const empty = await api('PATCH', `/api/v2/hosts/${host.json.id}/`, { variables: '' });
    expect(empty.status).toBe(200);
  });

  it('refuses a job template whose extra_vars do not parse', async () => {
    for (const [what, text] of BAD) {
      const jt = await api('POST', '/api/v2/job_templates/', { name: `jt ${what}`, project, inventory, playbook: 'hello_world.yml', extra_vars: text });
      expect(jt.status, what).toBe(400);
      expect(Object.keys(jt.json), what).toContain('extra_vars');
    }
    expect((await t.pool.query("SELECT count(*)::int AS n FROM job_templates WHERE name LIKE 'jt %'")).rows[0].n).toBe(0);
    const demo = Number((await t.pool.query("SELECT id FROM job_templates WHERE name = 'Demo Job Template'")).rows[0].id);
    const ok = await api('PATCH', `/api/v2/job_templates/${demo}/`, { extra_vars: 'greeting: hi\n' });
    expect(ok.status).toBe(200);
    expect(ok.json.extra_vars).toBe('greeting: hi\n');
  });
});
