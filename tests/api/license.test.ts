import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';
import type { TestEnv } from '../support/harness.js';

/**
 * /api/v2/config/'s license side as the open-source AWX answers it: an open license, no
 * manifest or subscription installs, superusers only for every write, and the project
 * paths shown only to those AWX shows them to.
 */
let t: TestEnv;
let api: ApiCall;
const dave = basicAuth('dave', 'dave-password-1');

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  expect((await api('POST', '/api/v2/users/', { username: 'dave', password: 'dave-password-1' })).status).toBe(201);
});

describe('license and subscriptions', () => {
  it('shows the open license, and the project paths to superusers only', async () => {
    const admin = await api('GET', '/api/v2/config/');
    expect(admin.json.license_info).toEqual({ license_type: 'open', valid_key: true, subscription_name: 'OPEN', product_name: 'AWX' });
    expect(admin.json.eula).toBe('');
    expect(admin.json).toHaveProperty('project_base_dir');
    const plain = await api('GET', '/api/v2/config/', undefined, dave);
    expect(plain.json.license_info.license_type).toBe('open');
    expect(plain.json).not.toHaveProperty('project_base_dir');
  });

  it('installs no manifest and no subscription, and answers as AWX does', async () => {
    const notZip = await api('POST', '/api/v2/config/', { manifest: Buffer.from('not a zip').toString('base64') });
    expect(notZip).toMatchObject({ status: 400, json: { error: 'Invalid manifest: a subscription manifest zip file is required.' } });
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]).toString('base64');
    expect((await api('POST', '/api/v2/config/', { manifest: zip })).json.error).toMatch(/^Invalid manifest/);
    expect((await api('POST', '/api/v2/config/', { license_key: 'x' })).json.error).toMatch(/Legacy license/);
    const open = await api('POST', '/api/v2/config/', {});
    expect(open.json).toEqual({ license_type: 'open', valid_key: true, subscription_name: 'OPEN', product_name: 'AWX' });
    const [base] = (await t.pool.query(`SELECT value FROM api_settings WHERE key = 'TOWER_URL_BASE'`)).rows;
    expect(base.value).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const subs = await api('POST', '/api/v2/config/subscriptions/', { subscriptions_username: 'u', subscriptions_password: 'p' });
    expect(subs).toMatchObject({ status: 400, json: { error: 'Invalid Subscription' } });
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM api_settings WHERE key LIKE 'SUBSCRIPTIONS_%'`)).rows[0].n).toBe(0);
    expect((await api('POST', '/api/v2/config/attach/', {})).json.error).toBe('No subscription pool ID provided.');
    expect((await api('POST', '/api/v2/config/attach/', { pool_id: 'abc' })).status).toBe(400);
    expect((await api('DELETE', '/api/v2/config/')).status).toBe(204);
    expect((await api('GET', '/api/v2/config/')).json.license_info.license_type).toBe('open');
  });

  it('refuses every write to a user who is not a superuser', async () => {
    expect((await api('POST', '/api/v2/config/', {}, dave)).status).toBe(403);
    expect((await api('DELETE', '/api/v2/config/', undefined, dave)).status).toBe(403);
    expect((await api('POST', '/api/v2/config/subscriptions/', { subscriptions_username: 'u', subscriptions_password: 'p' }, dave)).status).toBe(403);
    expect((await api('POST', '/api/v2/config/attach/', { pool_id: 'x' }, dave)).status).toBe(403);
  });
});
