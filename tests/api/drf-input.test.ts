import { beforeAll, describe, expect, it } from 'vitest';
import { parseDrfBoolean, parseDrfFloat, parseDrfInteger } from '../../src/api/engine/drf-values.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, startTestWeb } from '../support/web.js';

/**
 * Issue #15: input as Django REST framework parses it. AWX's serializers take what DRF's
 * BooleanField and IntegerField take, and awx.awx relies on it (its `settings` module sends
 * `value: true` as the string "True"); garbage is still a 400 naming the field.
 */
const TRUE = [true, 'True', 'true', 'TRUE', 'yes', 'Yes', 'on', 'ON', '1', 1, 't', 'y'];
const FALSE = [false, 'False', 'false', 'no', 'No', 'off', 'OFF', '0', 0, 'f', 'n'];
const NOT_BOOLEAN = ['maybe', '', 2, '2', 'truthy', [], {}];

let env: TestEnv;
let url: string;
let jt: number;
const api = (method: string, path: string, body?: unknown) => apiRequest(url, method, path, body, basicAuth('admin', 'admin-password'));

beforeAll(async () => {
  env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(env));
  jt = (await env.pool.query(`SELECT id FROM job_templates WHERE name = 'Demo Job Template'`)).rows[0].id;
});

describe('DRF field parsing', () => {
  it('reads BooleanField\'s true and false values and nothing else', () => {
    for (const v of TRUE) expect(parseDrfBoolean(v), JSON.stringify(v)).toBe(true);
    for (const v of FALSE) expect(parseDrfBoolean(v), JSON.stringify(v)).toBe(false);
    for (const v of NOT_BOOLEAN) expect(parseDrfBoolean(v), JSON.stringify(v)).toBeUndefined();
  });

  it('reads IntegerField\'s integers: numbers and numeric strings, not fractions or words', () => {
    for (const [v, n] of [[5, 5], ['5', 5], [' 7 ', 7], ['-1', -1], ['+3', 3], ['5.0', 5], ['5.', 5], [5.0, 5]] as const) {
      expect(parseDrfInteger(v), JSON.stringify(v)).toBe(n);
    }
    for (const v of ['5.5', 5.5, 'x', '', '1e3', true, false, null, [], '9'.repeat(20), '1'.repeat(1001)]) {
      expect(parseDrfInteger(v), JSON.stringify(v)).toBeUndefined();
    }
    expect(parseDrfFloat('2.5')).toBe(2.5);
    expect(parseDrfFloat('x')).toBeUndefined();
  });
});

describe('the API parses writes as AWX does', () => {
  it('takes every DRF boolean spelling on a template and refuses garbage naming the field', async () => {
    for (const [values, expected] of [[TRUE, true], [FALSE, false]] as const) {
      for (const v of values) {
        const res = await api('PATCH', `/api/v2/job_templates/${jt}/`, { ask_limit_on_launch: v });
        expect(res.status, `${JSON.stringify(v)}: ${res.text}`).toBe(200);
        expect(res.json.ask_limit_on_launch).toBe(expected);
      }
    }
    for (const v of NOT_BOOLEAN) {
      const res = await api('PATCH', `/api/v2/job_templates/${jt}/`, { ask_limit_on_launch: v });
      expect(res.status, JSON.stringify(v)).toBe(400);
      expect(res.json).toEqual({ ask_limit_on_launch: ['Must be a valid boolean.'] });
    }
  });

  it('takes integers as numeric strings and refuses fractions and words naming the field', async () => {
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { forks: '5' })).json.forks).toBe(5);
    expect((await api('PATCH', `/api/v2/job_templates/${jt}/`, { forks: '6.0' })).json.forks).toBe(6);
    for (const v of ['5.5', 'x', true]) {
      const res = await api('PATCH', `/api/v2/job_templates/${jt}/`, { forks: v });
      expect(res.status, JSON.stringify(v)).toBe(400);
      expect(res.json).toEqual({ forks: ['A valid integer is required.'] });
    }
    const { rows: [row] } = await env.pool.query('SELECT forks FROM job_templates WHERE id = $1', [jt]);
    expect(row.forks).toBe(6);
  });

  it('settings take the awx.awx settings module\'s "True" and numeric strings, stored as their type', async () => {
    const res = await api('PATCH', '/api/v2/settings/system/', { ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC: 'True' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC).toBe(true);
    expect((await api('PATCH', '/api/v2/settings/jobs/', { MAX_FORKS: '50', PROJECT_UPDATE_VVV: 'on' })).json)
      .toMatchObject({ MAX_FORKS: 50, PROJECT_UPDATE_VVV: true });
    const stored = await env.pool.query(`SELECT key, value FROM api_settings WHERE key IN ('MAX_FORKS', 'ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC') ORDER BY key`);
    expect(stored.rows).toEqual([{ key: 'ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC', value: true }, { key: 'MAX_FORKS', value: 50 }]);
    const bad = await api('PATCH', '/api/v2/settings/jobs/', { MAX_FORKS: '5.5', PROJECT_UPDATE_VVV: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ MAX_FORKS: ['A valid integer is required.'], PROJECT_UPDATE_VVV: ['Must be a valid boolean.'] });
    expect((await api('GET', '/api/v2/settings/jobs/')).json).toMatchObject({ MAX_FORKS: 50, PROJECT_UPDATE_VVV: true });
  });

  it('ACTIVITY_STREAM_ENABLED "False" stops the activity stream, "on" starts it again', async () => {
    const entries = async (name: string) => (await env.pool.query(
      `SELECT count(*)::int AS n FROM activity_stream WHERE object1 = 'organization' AND changes->>'name' = $1`, [name])).rows[0].n;
    expect((await api('PATCH', '/api/v2/settings/system/', { ACTIVITY_STREAM_ENABLED: 'False' })).json.ACTIVITY_STREAM_ENABLED).toBe(false);
    expect((await api('POST', '/api/v2/organizations/', { name: 'unrecorded' })).status).toBe(201);
    expect(await entries('unrecorded')).toBe(0);
    expect((await api('PATCH', '/api/v2/settings/system/', { ACTIVITY_STREAM_ENABLED: 'on' })).json.ACTIVITY_STREAM_ENABLED).toBe(true);
    expect((await api('POST', '/api/v2/organizations/', { name: 'recorded' })).status).toBe(201);
    expect(await entries('recorded')).toBe(1);
  });
});
