import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { apiAs } from './support/api.js';
import { launchBrowser, loginThroughForm, newPage } from './support/browser.js';

const ADMIN_PASSWORD = 'console-admin-pw';

describe('resources and launch prompts in the console', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    env = await useTestEnv();
    await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: ADMIN_PASSWORD });
    base = (await startTestWeb(env)).url;
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
    page.on('dialog', (d) => void d.accept());
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD);
  });

  it('creates, edits and deletes an organization', async () => {
    await page.goto(`${base}/organizations`);
    await page.click('[data-testid=add]');
    await page.fill('input[name=name]', 'Console Org');
    await page.fill('input[name=description]', 'made in the browser');
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/organizations\/\d+$/);
    const id = Number(/(\d+)$/.exec(page.url())![1]);
    await page.fill('input[name=description]', 'edited in the browser');
    await page.click('button:has-text("Save")');
    await expect.poll(async () => (await env.pool.query('SELECT description FROM organizations WHERE id = $1', [id])).rows[0]?.description)
      .toBe('edited in the browser');
    await page.goto(`${base}/organizations`);
    await page.locator(`tr[data-id="${id}"] [data-testid=delete]`).click();
    await page.locator(`tr[data-id="${id}"]`).waitFor({ state: 'detached' });
    expect((await env.pool.query('SELECT 1 FROM organizations WHERE id = $1', [id])).rowCount).toBe(0);
  });

  it('adds a host to an inventory from the inventory page, and syncs a project', async () => {
    await page.goto(`${base}/inventories`);
    await page.locator('tr', { hasText: 'Demo Inventory' }).locator('a').first().click();
    await page.waitForURL(/\/inventories\/\d+$/);
    const inventoryId = Number(/(\d+)$/.exec(page.url())![1]);
    await page.locator('.resource-table', { hasText: 'Hosts' }).locator('[data-testid=add]').click();
    await page.fill('input[name=name]', 'web-01.example');
    await page.click('button:has-text("Create")');
    await page.waitForURL(new RegExp(`/inventories/${inventoryId}$`));
    await page.locator('.resource-table', { hasText: 'Hosts' }).locator('tr', { hasText: 'web-01.example' }).waitFor();
    const { rows } = await env.pool.query('SELECT inventory_id FROM hosts WHERE name = $1', ['web-01.example']);
    expect(Number(rows[0].inventory_id)).toBe(inventoryId);

    await page.goto(`${base}/projects`);
    await page.locator('tr', { hasText: 'Demo Project' }).locator('button', { hasText: 'Sync' }).click();
    await page.waitForURL(/\/jobs\/project_update\/\d+\/output$/);
    await page.locator('.page-head', { hasText: 'Demo Project' }).waitFor();
  });

  it('keeps a credential secret write-only', async () => {
    const { results: [machine] } = await apiAs(base, 'admin', ADMIN_PASSWORD, 'GET', '/api/v2/credential_types/?name=Machine');
    await page.goto(`${base}/credentials/new`);
    await page.fill('input[name=name]', 'Console SSH');
    await page.selectOption('select[name=credential_type]', String(machine.id));
    await page.locator('input[name="inputs.username"]').waitFor();
    await page.fill('input[name="inputs.username"]', 'deploy');
    await page.fill('input[name="inputs.password"]', 's3cret-from-browser');
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/credentials\/\d+$/);
    const id = Number(/(\d+)$/.exec(page.url())![1]);
    // The stored secret never comes back into the page.
    await page.locator('input[name="inputs.password"]').waitFor();
    expect(await page.inputValue('input[name="inputs.password"]')).toBe('');
    expect(await page.getAttribute('input[name="inputs.password"]', 'placeholder')).toContain('leave blank');
    expect(await page.content()).not.toContain('s3cret-from-browser');
    const stored = (await env.pool.query('SELECT inputs FROM credentials WHERE id = $1', [id])).rows[0].inputs;
    expect(stored.password).toMatch(/^\$encrypted\$/);
    expect(env.secrets.decrypt(stored.password)).toBe('s3cret-from-browser');
    // Saving with the secret left blank keeps it.
    await page.fill('input[name="inputs.username"]', 'deploy2');
    await page.click('button:has-text("Save")');
    await expect.poll(async () => (await env.pool.query('SELECT inputs FROM credentials WHERE id = $1', [id])).rows[0].inputs.username).toBe('deploy2');
    const after = (await env.pool.query('SELECT inputs FROM credentials WHERE id = $1', [id])).rows[0].inputs;
    expect(env.secrets.decrypt(after.password)).toBe('s3cret-from-browser');
  });

  it('launches with the prompts the template asks for and its survey', async () => {
    const { results: [demo] } = await apiAs(base, 'admin', ADMIN_PASSWORD, 'GET', '/api/v2/job_templates/?name=Demo%20Job%20Template');
    await apiAs(base, 'admin', ADMIN_PASSWORD, 'PATCH', `/api/v2/job_templates/${demo.id}/`, { ask_limit_on_launch: true, survey_enabled: true,
      // AWX takes survey answers in extra_vars whenever the survey is on; Playstream's API
      // (for now) only when variables are prompted too, so prompt for them here.
      ask_variables_on_launch: true });
    await apiAs(base, 'admin', ADMIN_PASSWORD, 'POST', `/api/v2/job_templates/${demo.id}/survey_spec/`, {
      name: '', description: '', spec: [
        { question_name: 'Colour', variable: 'colour', type: 'multiplechoice', choices: ['red', 'green'], required: true, default: 'red' },
        { question_name: 'Count', variable: 'count', type: 'integer', required: false, min: 1, max: 9 },
      ] });
    await page.goto(`${base}/templates`);
    await page.locator('tr', { hasText: 'Demo Job Template' }).locator('button', { hasText: 'Launch' }).click();
    await page.waitForSelector('form.launch-form select[name=colour]');
    await page.fill('input[name=limit]', 'localhost');
    await page.selectOption('select[name=colour]', 'green');
    await page.fill('input[name=count]', '3');
    await page.click('form.launch-form button[type=submit]');
    await page.waitForURL(/\/jobs\/job\/\d+\/output$/);
    const jobId = Number(/\/jobs\/job\/(\d+)\//.exec(page.url())![1]);
    const job = await apiAs(base, 'admin', ADMIN_PASSWORD, 'GET', `/api/v2/jobs/${jobId}/`);
    expect(job.limit).toBe('localhost');
    const extra = typeof job.extra_vars === 'string' ? JSON.parse(job.extra_vars || '{}') : job.extra_vars;
    expect(extra).toMatchObject({ colour: 'green', count: 3 });
  });
});
