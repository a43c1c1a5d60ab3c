import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { apiAs } from './support/api.js';
import { launchBrowser, loginThroughForm, newPage } from './support/browser.js';

const ADMIN_PASSWORD = 'console-admin-pw';

describe('console shell in Chromium', () => {
  let base: string;
  let browser: Browser;
  beforeAll(async () => {
    const env = await useTestEnv();
    await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: ADMIN_PASSWORD });
    base = (await startTestWeb(env)).url;
    browser = await launchBrowser();
    await apiAs(base, 'admin', ADMIN_PASSWORD, 'POST', '/api/v2/users/', { username: 'alice', password: 'alice-password-1', first_name: 'Alice' });
  });

  it('logs in with session + CSRF, shows who is logged in, and logs out', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${base}/jobs`);
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).toMatch(/invalid|incorrect|unable|credentials/i);

    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD);
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(expect.arrayContaining(['csrftoken', 'sessionid']));
    expect(await page.textContent('[data-testid=whoami]')).toBe('admin (admin)');
    // A reload keeps the session: the shell comes back without the form.
    await page.reload();
    await page.waitForSelector('[data-testid=whoami]');
    await page.click('text=Log out');
    await page.waitForSelector('input[name=username]');
    await page.goto(`${base}/templates`);
    await page.waitForSelector('input[name=username]');
    await context.close();
  });

  it('lists the Demo Job Template with a Launch button for the admin', async () => {
    const { context, page } = await newPage(browser);
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, '/');
    // `/` is the dashboard, as in AWX.
    await page.waitForURL(`${base}/home`);
    await page.click('nav >> text=Templates');
    const row = page.locator('tr', { hasText: 'Demo Job Template' });
    await row.waitFor();
    expect(await row.locator('button', { hasText: 'Launch' }).count()).toBe(1);
    await page.click('text=Users');
    await page.locator('tr', { hasText: 'alice' }).waitFor();
    await page.locator('[data-testid=add]').waitFor();
    expect(await page.locator('[data-testid=delete]').count()).toBeGreaterThan(0);
    await context.close();
  });

  it('shows a non-admin user no admin-only controls', async () => {
    const { context, page } = await newPage(browser);
    await loginThroughForm(page, base, 'alice', 'alice-password-1', '/templates');
    expect(await page.textContent('[data-testid=whoami]')).toBe('alice');
    // Alice has no role on the Demo Job Template: she cannot see it, let alone launch it.
    await page.waitForSelector('table tbody tr');
    await page.waitForTimeout(300);
    expect(await page.locator('button', { hasText: 'Launch' }).count()).toBe(0);
    const nav = await page.textContent('nav.sidebar');
    expect(nav).not.toContain('Instances');
    expect(nav).not.toContain('Instance groups');
    // Add follows the list's OPTIONS: any user may create a credential of their own (AWX's
    // CredentialAccess), nothing else here.
    for (const p of ['/users', '/organizations', '/credentials', '/projects', '/inventories']) {
      await page.goto(`${base}${p}`);
      await page.waitForSelector('table tbody tr');
      if (p === '/credentials') await page.locator('[data-testid=add]').waitFor();
      else await page.waitForTimeout(300);
      expect(await page.locator('[data-testid=add]').count(), `Add on ${p}`).toBe(p === '/credentials' ? 1 : 0);
      expect(await page.locator('[data-testid=delete]').count(), `Delete on ${p}`).toBe(0);
    }
    // Her own user row can be edited (AWX lets users change their own details), nobody else's.
    await page.goto(`${base}/users`);
    await page.locator('tr', { hasText: 'alice' }).waitFor();
    expect(await page.locator('tr', { hasText: 'admin' }).locator('[data-testid=edit]').count()).toBe(0);
    await context.close();
  });
});
