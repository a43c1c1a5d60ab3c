import { generateKeyPairSync } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { apiAs } from './support/api.js';
import { launchBrowser, loginThroughForm, newPage } from './support/browser.js';

const ADMIN_PASSWORD = 'console-admin-pw';

/**
 * What the console's forms save is what the user meant: a pasted key byte for byte, AWX's
 * defaults, variables that parse (refused at the field otherwise, nothing saved), playbooks
 * from the project's list, the server's field errors at their field, a refused launch's
 * reason shown at once. Each was broken before (issue 19).
 */
describe('console forms', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  beforeAll(async () => {
    env = await useTestEnv();
    await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: ADMIN_PASSWORD });
    base = (await startTestWeb(env)).url;
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD);
    page.on('pageerror', (e) => errors.push(e.message));
  });

  it('keeps a pasted SSH private key byte for byte', async () => {
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(key.split('\n').length).toBeGreaterThan(3);
    const { results: [machine] } = await apiAs(base, 'admin', ADMIN_PASSWORD, 'GET', '/api/v2/credential_types/?name=Machine');
    await page.goto(`${base}/credentials/new`);
    await page.fill('input[name=name]', 'Pasted key');
    await page.selectOption('select[name=credential_type]', String(machine.id));
    const field = page.locator('textarea[name="inputs.ssh_key_data"]');
    await field.waitFor();
    await field.focus();
    // As a paste: one insertion of the whole text, newlines included.
    await page.keyboard.insertText(key);
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/credentials\/\d+$/);
    const id = Number(/(\d+)$/.exec(page.url())![1]);
    const stored = (await env.pool.query('SELECT inputs FROM credentials WHERE id = $1', [id])).rows[0].inputs;
    expect(env.secrets.decrypt(stored.ssh_key_data)).toBe(key);
    // Saving again with the key left blank keeps it.
    await page.click('button:has-text("Save")');
    await page.locator('fieldset:not([disabled])').waitFor();
    const after = (await env.pool.query('SELECT inputs FROM credentials WHERE id = $1', [id])).rows[0].inputs;
    expect(env.secrets.decrypt(after.ssh_key_data)).toBe(key);
  });

  it('creates a host enabled, as AWX does', async () => {
    const inv = Number((await env.pool.query("SELECT id FROM inventories WHERE name = 'Demo Inventory'")).rows[0].id);
    await page.goto(`${base}/hosts/new?inventory=${inv}&back=/inventories/${inv}`);
    expect(await page.isChecked('input[name=enabled]')).toBe(true);
    await page.fill('input[name=name]', 'db-01.example');
    await page.click('button:has-text("Create")');
    await page.waitForURL((u) => u.pathname === `/inventories/${inv}`);
    const { rows } = await env.pool.query('SELECT enabled FROM hosts WHERE name = $1', ['db-01.example']);
    expect(rows).toEqual([{ enabled: true }]);
  });

  it("puts hosts into a group from the group's page, and takes one out", async () => {
    const inv = Number((await env.pool.query("SELECT id FROM inventories WHERE name = 'Demo Inventory'")).rows[0].id);
    const api = (method: string, path: string, body?: unknown) => apiAs(base, 'admin', ADMIN_PASSWORD, method, path, body);
    const hosts = await Promise.all(['web-a', 'web-b'].map((name) => api('POST', '/api/v2/hosts/', { name, inventory: inv })));
    const group = await api('POST', '/api/v2/groups/', { name: 'web', inventory: inv });
    const members = async () => (await api('GET', `/api/v2/groups/${group.id}/hosts/`)).results.map((h: { name: string }) => h.name).sort();
    await page.goto(`${base}/groups/${group.id}`);
    const picker = page.locator('[data-testid=group-hosts] select[name=group_hosts]');
    for (const h of hosts) await picker.selectOption(String(h.id));
    await page.click('[data-testid=group-hosts] button:has-text("Save hosts")');
    await expect.poll(members).toEqual(['web-a', 'web-b']);
    await page.click(`[data-testid=group-hosts] .chip[data-id="${hosts[0].id}"] .chip-x`);
    await page.click('[data-testid=group-hosts] button:has-text("Save hosts")');
    await expect.poll(members).toEqual(['web-b']);
  });

  it('makes an execution environment, and the image is checked by the server at its field', async () => {
    await page.goto(`${base}/execution_environments/new`);
    await page.fill('input[name=name]', 'Console EE');
    await page.fill('input[name=image]', 'not an image');
    await page.click('button:has-text("Create")');
    await page.locator('.field-error', { hasText: 'registry/name:tag' }).waitFor();
    await page.fill('input[name=image]', 'quay.io/example/ee:2');
    await page.selectOption('select[name=pull]', 'missing');
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/execution_environments\/\d+$/);
    const { results: [ee] } = await apiAs(base, 'admin', ADMIN_PASSWORD, 'GET', '/api/v2/execution_environments/?name=Console EE');
    expect(ee).toMatchObject({ image: 'quay.io/example/ee:2', pull: 'missing' });
  });

  it('refuses variables that do not parse, at the field, saving nothing', async () => {
    await page.goto(`${base}/inventories/new`);
    await page.fill('input[name=name]', 'Bad vars inventory');
    await page.locator('select[name=organization] option', { hasText: 'Default' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=organization]', { label: 'Default' });
    await page.fill('textarea[name=variables]', 'ports: [80, 443\nname: web');
    let posts = 0;
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/api/v2/inventories/')) posts++; });
    await page.click('button:has-text("Create")');
    const message = page.locator('.field-error[data-field=variables]');
    await message.waitFor();
    expect(await message.textContent()).toMatch(/Not valid JSON or YAML/);
    expect(page.url()).toMatch(/\/inventories\/new$/);
    // A list is YAML but not variables.
    await page.fill('textarea[name=variables]', '- a\n- b');
    await page.click('button:has-text("Create")');
    await expect.poll(async () => message.textContent()).toMatch(/mapping/);
    expect(posts).toBe(0);
    expect((await env.pool.query("SELECT 1 FROM inventories WHERE name = 'Bad vars inventory'")).rowCount).toBe(0);
    // Fixed, it saves, the text kept as typed.
    await page.fill('textarea[name=variables]', 'ports: [80, 443]\nname: web\n');
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/inventories\/\d+$/);
    expect((await env.pool.query("SELECT variables FROM inventories WHERE name = 'Bad vars inventory'")).rows[0].variables).toBe('ports: [80, 443]\nname: web\n');
  });

  it("shows the server's field errors at the field", async () => {
    await page.goto(`${base}/teams/new`);
    await page.fill('input[name=name]', 'x'.repeat(600));
    await page.locator('select[name=organization] option', { hasText: 'Default' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=organization]', { label: 'Default' });
    await page.click('button:has-text("Create")');
    const message = page.locator('.field-error[data-field=name]');
    await message.waitFor();
    expect(await message.textContent()).toMatch(/512/);
    expect(page.url()).toMatch(/\/teams\/new$/);
  });

  it("offers the project's playbooks, and a template's refused launch says why at once", async () => {
    const project = Number((await env.pool.query("SELECT id FROM projects WHERE name = 'Demo Project'")).rows[0].id);
    await env.pool.query(`UPDATE projects SET playbook_files = '["hello_world.yml", "site.yml"]' WHERE id = $1`, [project]);
    await page.goto(`${base}/job_templates/new`);
    await page.fill('input[name=name]', 'From the form');
    await page.locator('select[name=project] option', { hasText: 'Demo Project' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=project]', String(project));
    await page.locator('select[name=playbook] option', { hasText: 'site.yml' }).waitFor({ state: 'attached' });
    const offered = await page.locator('select[name=playbook] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(offered).toEqual(['', 'hello_world.yml', 'site.yml']);
    await page.selectOption('select[name=playbook]', 'hello_world.yml');
    await page.selectOption('select[name=inventory]', { label: 'Demo Inventory' });
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/job_templates\/\d+$/);
    const jt = Number(/(\d+)$/.exec(page.url())![1]);
    expect((await env.pool.query('SELECT playbook FROM job_templates WHERE id = $1', [jt])).rows[0].playbook).toBe('hello_world.yml');

    // Vars stored before validation existed (straight in the database) make the launch fail:
    // the launch page opens with the reason, not an empty form.
    await env.pool.query(`UPDATE job_templates SET extra_vars = 'a: [' WHERE id = $1`, [jt]);
    await page.goto(`${base}/templates`);
    await page.locator('tr', { hasText: 'From the form' }).locator('button', { hasText: 'Launch' }).click();
    await page.waitForURL(new RegExp(`/templates/job_template/${jt}/launch$`));
    const alert = page.locator('form.launch-form [role=alert]');
    await alert.waitFor({ timeout: 5000 });
    expect(await alert.textContent()).toMatch(/Launch refused: .*extra_vars/);
    expect(errors).toEqual([]);
  });
});
