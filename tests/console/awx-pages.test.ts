import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { apiAs } from './support/api.js';
import { loginThroughForm, newPage } from './support/browser.js';
import { startLiveConsole } from './support/processes.js';

const ADMIN_PASSWORD = 'console-admin-pw';

/**
 * Every console error, uncaught exception and failed response of a page from the moment
 * it is watched: the pages added here must log none.
 */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  return errors;
}

/**
 * The pages an AWX user finds beside the job views — dashboard, activity stream, inventory
 * sources and their sync, ad hoc commands, credential types, settings — plus the event
 * panel, the running job's clock and sortable columns, in Chromium against the real web
 * server, dispatcher and receiver (syncs and commands really run). One stack and browser.
 */
describe('AWX pages in the console', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let shots: string;
  let inventory: number;
  const api = (method: string, p: string, body?: unknown) => apiAs(base, 'admin', ADMIN_PASSWORD, method, p, body);

  beforeAll(async () => {
    ({ env, base, browser, screenshots: shots } = await startLiveConsole(ADMIN_PASSWORD));
    // An inventory file in the demo project, for an inventory source to sync from.
    const repo = path.join(env.dataDir, 'demo-project');
    fs.writeFileSync(path.join(repo, 'inventory.ini'), '[web]\nweb-1 ansible_connection=local\nweb-2 ansible_connection=local\n');
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'add', 'inventory.ini'], { cwd: repo });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-m', 'inventory'], { cwd: repo });
    const project = (await api('GET', '/api/v2/projects/?name=Demo%20Project')).results[0];
    const update = await api('POST', `/api/v2/projects/${project.id}/update/`, {});
    for (let s = ''; !['successful', 'failed', 'error', 'canceled'].includes(s); await new Promise((r) => setTimeout(r, 300))) {
      s = (await api('GET', `/api/v2/project_updates/${update.id ?? update.project_update}/`)).status;
    }
    inventory = (await api('GET', '/api/v2/inventories/?name=Demo%20Inventory')).results[0].id;
    await api('POST', '/api/v2/users/', { username: 'auditor', password: 'auditor-pass', is_system_auditor: true });
    await api('POST', '/api/v2/users/', { username: 'reader', password: 'reader-pass' });
  }, 120_000);

  it('an admin runs a command, syncs a source, reads the dashboard, the stream, credential types and settings, without a console error', async () => {
    const { page } = await newPage(browser, { width: 1400, height: 900 });
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, '/home');
    const errors = watchErrors(page);

    // Ad hoc command from the inventory's page: module, arguments, credential; its output streams in.
    await page.goto(`${base}/inventories/${inventory}`);
    await page.click('.page-head button:has-text("Run command")');
    await page.waitForURL(new RegExp(`/inventories/${inventory}/ad_hoc$`));
    // The modules offered are the AD_HOC_COMMANDS setting's (19 by default), not a fixed few.
    await page.waitForFunction(() => document.querySelectorAll('select[name=module_name] option').length > 4);
    expect(await page.locator('select[name=module_name] option', { hasText: 'apt_repository' }).count()).toBe(1);
    await page.selectOption('select[name=module_name]', 'command');
    await page.fill('input[name=module_args]', 'echo adhoc-hello');
    await page.selectOption('select[name=credential]', { label: 'Demo Credential' });
    await page.screenshot({ path: path.join(shots, 'ad-hoc-command.png') });
    await page.click('button:has-text("Run")');
    await page.waitForURL(/\/jobs\/ad_hoc_command\/\d+\/output$/);
    await page.waitForSelector('.page-head [data-status=successful]', { timeout: 90_000 });
    // Its host counts, once its events are processed (they read 0: the API left the field out).
    await page.waitForFunction(() => document.querySelector('[data-testid=host-counts] .hc-changed b')?.textContent === '1', undefined, { timeout: 30_000 });
    const line = page.locator('.output-rows .row .text', { hasText: 'adhoc-hello' }).first();
    await line.waitFor({ timeout: 15_000 });
    // A click on an output line opens its event: host, module, the module's result.
    await page.locator('.output-rows .row .text', { hasText: 'localhost | CHANGED' }).first().click();
    const panel = page.locator('[data-testid=event-detail]');
    await panel.locator('[data-field=host]').waitFor();
    expect(await panel.locator('[data-field=host]').textContent()).toBe('localhost');
    expect(await panel.locator('[data-field=module]').textContent()).toBe('command');
    expect(await panel.locator('[data-field=result]').textContent()).toContain('adhoc-hello');
    await page.screenshot({ path: path.join(shots, 'event-detail.png') });
    await panel.locator('button[aria-label=Close]').click();
    expect(await panel.count()).toBe(0);

    // An inventory source from the project's inventory file, then Sync: its output, its hosts.
    await page.goto(`${base}/inventory_sources/new?inventory=${inventory}&back=/inventories/${inventory}`);
    await page.fill('input[name=name]', 'From the project');
    await page.selectOption('select[name=source]', 'scm');
    await page.selectOption('select[name=source_project]', { label: 'Demo Project' });
    await page.fill('input[name=source_path]', 'inventory.ini');
    await page.click('button:has-text("Create")');
    await page.waitForURL(new RegExp(`/inventories/${inventory}$`));
    const sources = page.locator('.resource-table', { hasText: 'Sources' });
    await sources.locator('tr', { hasText: 'From the project' }).waitFor();
    await page.screenshot({ path: path.join(shots, 'inventory-sources.png'), fullPage: true });
    await sources.locator('tr', { hasText: 'From the project' }).locator('button:has-text("Sync")').click();
    await page.waitForURL(/\/jobs\/inventory_update\/\d+\/output$/);
    await page.waitForSelector('.page-head [data-status=successful]', { timeout: 90_000 });
    await page.waitForFunction(() => (document.querySelector('.output') as HTMLElement)?.dataset.totalLines !== '0');
    const hosts = await api('GET', `/api/v2/inventories/${inventory}/hosts/?order_by=name`);
    expect(hosts.results.map((h: { name: string }) => h.name)).toEqual(expect.arrayContaining(['web-1', 'web-2']));

    // A custom credential type with YAML inputs and injectors; bad YAML is refused at its field before any request.
    await page.goto(`${base}/credential_types`);
    await page.click('[data-testid=add]');
    await page.fill('input[name=name]', 'Ticket API');
    await page.fill('textarea[name=injectors]', 'env: [unclosed');
    const requestsBefore = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/credential_types/')).length);
    await page.click('button:has-text("Create")');
    await page.locator('[data-field=injectors]').waitFor();
    expect(await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/credential_types/')).length)).toBe(requestsBefore);
    await page.fill('textarea[name=injectors]', 'env:\n  TICKET_TOKEN: "{{ api_token }}"\n');
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/credential_types\/\d+$/);
    const typeId = Number(/\/credential_types\/(\d+)$/.exec(page.url())![1]);
    const stored = await api('GET', `/api/v2/credential_types/${typeId}/`);
    expect(stored.inputs).toEqual({ fields: [{ id: 'api_token', label: 'API token', type: 'string', secret: true }], required: ['api_token'] });
    expect(stored.injectors).toEqual({ env: { TICKET_TOKEN: '{{ api_token }}' } });
    await page.screenshot({ path: path.join(shots, 'credential-type.png'), fullPage: true });

    // Settings: a number changed and saved; a value that cannot be one is refused at its setting, unsent.
    await page.goto(`${base}/settings/jobs`);
    await page.fill('input[name=DEFAULT_JOB_TIMEOUT]', '45');
    await page.fill('textarea[name=AWX_TASK_ENV]', '{"HTTP_PROXY": "http://proxy.local:3128"}');
    await page.click('button:has-text("Save")');
    await page.locator('form.settings [role=status]', { hasText: 'Saved.' }).waitFor();
    const jobs = await api('GET', '/api/v2/settings/jobs/');
    expect(jobs.DEFAULT_JOB_TIMEOUT).toBe(45);
    expect(jobs.AWX_TASK_ENV).toEqual({ HTTP_PROXY: 'http://proxy.local:3128' });
    await page.fill('textarea[name=AWX_TASK_ENV]', '{not json');
    await page.click('button:has-text("Save")');
    expect(await page.locator('[data-field=AWX_TASK_ENV]').textContent()).toBe('Not valid JSON.');
    await page.screenshot({ path: path.join(shots, 'settings.png'), fullPage: true });

    // The activity stream, filtered to credential types: the one just made, its changes.
    await page.goto(`${base}/activity_stream`);
    await page.selectOption('select[name=object1]', 'credential_type');
    await page.waitForURL(/object1=credential_type/);
    const row = page.locator('[data-testid=activity] tbody tr', { hasText: 'create' }).first();
    await row.waitFor();
    expect(await row.textContent()).toContain(`credential type ${typeId}`);
    await row.locator('button:has-text("Changes")').click();
    expect(await page.locator('tr.changes pre').textContent()).toContain('Ticket API');
    await page.screenshot({ path: path.join(shots, 'activity-stream.png'), fullPage: true });

    // Sortable columns: a header click sorts by that field, a second click the other way.
    await page.goto(`${base}/organizations`);
    await api('POST', '/api/v2/organizations/', { name: 'Zeta org' });
    await api('POST', '/api/v2/organizations/', { name: 'Alpha org' });
    await page.reload();
    await page.click('th[data-sort=name] button');
    await page.locator('th[data-sort=name][aria-sort=ascending]').waitFor();
    await page.waitForFunction(() => document.querySelector('.resource-table tbody tr td')?.textContent === 'Alpha org');
    await page.click('th[data-sort=name] button');
    await page.waitForFunction(() => document.querySelector('.resource-table tbody tr td')?.textContent === 'Zeta org');
    expect(await page.getAttribute('th[data-sort=name]', 'aria-sort')).toBe('descending');
    await page.goto(`${base}/jobs`);
    await page.click('th[data-sort=finished] button');
    await page.waitForURL(/order_by=finished/);

    // A running job's clock moves in the list and on its page.
    const { rows: [running] } = await env.pool.query(`INSERT INTO unified_jobs (kind, name, status, started, launch_type)
      VALUES ('job', 'Long runner', 'running', now() - interval '65 seconds', 'manual') RETURNING id`);
    await page.goto(`${base}/jobs`);
    const clock = page.locator(`tr[data-job-id="${running.id}"] [data-testid=elapsed-live]`);
    const first = await clock.textContent();
    expect(first).toMatch(/^1:0\d$/);
    await page.waitForFunction(([id, was]) => document.querySelector(`tr[data-job-id="${id}"] [data-testid=elapsed-live]`)?.textContent !== was,
      [running.id, first] as const, { timeout: 5000 });
    await env.pool.query(`UPDATE unified_jobs SET status = 'canceled', finished = now() WHERE id = $1`, [running.id]);

    // The dashboard: its figures are the API's; the graph counts the jobs that finished today.
    await page.goto(`${base}/home`);
    const dash = await api('GET', '/api/v2/dashboard/');
    await page.locator('[data-testid=dash-hosts] .tile-value', { hasText: String(dash.hosts.total) }).waitFor();
    expect(await page.textContent('[data-testid=dash-jobs] .tile-value')).toBe(String(dash.jobs.total));
    const graph = page.locator('[data-testid=status-graph]');
    await graph.waitFor();
    const { rows: [done] } = await env.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE finished IS NOT NULL AND launch_type <> 'sync'
      AND status IN ('successful', 'failed', 'error', 'canceled')`);
    expect(Number(await graph.getAttribute('data-total'))).toBe(done.n);
    expect(await page.locator('[data-testid=recent-jobs] tr').count()).toBeGreaterThan(1);
    await page.locator('[data-testid=recent-templates] tr').first().waitFor();
    await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

    expect(errors).toEqual([]);
  }, 240_000);

  it('a read-only user sees no form that can only fail, and no page logs an error', async () => {
    const auditor = await newPage(browser);
    await loginThroughForm(auditor.page, base, 'auditor', 'auditor-pass', '/home');
    const errors = watchErrors(auditor.page);
    const custom = (await api('GET', '/api/v2/credential_types/?name=Ticket%20API')).results[0];
    for (const p of ['/home', '/activity_stream', '/credential_types', `/credential_types/${custom.id}`, '/settings/system', `/inventories/${inventory}/ad_hoc`]) {
      await auditor.page.goto(`${base}${p}`);
      await auditor.page.waitForSelector('.content h1');
      await auditor.page.waitForLoadState('networkidle');
    }
    // The auditor reads settings and the custom type, with every input disabled and no Save.
    await auditor.page.goto(`${base}/settings/system`);
    await auditor.page.locator('form.settings fieldset[disabled]').waitFor();
    expect(await auditor.page.locator('form.settings button[type=submit]').count()).toBe(0);
    await auditor.page.goto(`${base}/credential_types/${custom.id}`);
    await auditor.page.locator('form fieldset[disabled] textarea[name=inputs]').waitFor();
    expect(await auditor.page.locator('form button[type=submit]').count()).toBe(0);
    await auditor.page.goto(`${base}/credential_types`);
    await auditor.page.locator('.resource-table tbody tr').first().waitFor();
    expect(await auditor.page.locator('[data-testid=add]').count()).toBe(0);
    await auditor.page.goto(`${base}/inventories/${inventory}/ad_hoc`);
    await auditor.page.locator('text=You may not run commands on this inventory.').waitFor();
    expect(await auditor.page.locator('[data-testid=ad-hoc-form]').count()).toBe(0);
    expect(errors).toEqual([]);

    // A user with no roles: no Settings or Activity stream in the menu, and the pages say why without asking the API.
    const reader = await newPage(browser);
    await loginThroughForm(reader.page, base, 'reader', 'reader-pass', '/home');
    const readerErrors = watchErrors(reader.page);
    expect(await reader.page.locator('nav a', { hasText: 'Settings' }).count()).toBe(0);
    expect(await reader.page.locator('nav a', { hasText: 'Activity stream' }).count()).toBe(0);
    await reader.page.goto(`${base}/activity_stream`);
    await reader.page.locator('text=shown to superusers and system auditors only').waitFor();
    await reader.page.goto(`${base}/settings`);
    await reader.page.locator('text=shown to superusers and system auditors only').waitFor();
    await reader.page.goto(`${base}/home`);
    await reader.page.locator('[data-testid=dash-jobs] .tile-value', { hasText: '0' }).waitFor();
    await reader.page.waitForLoadState('networkidle');
    expect(readerErrors).toEqual([]);
  }, 120_000);
});
