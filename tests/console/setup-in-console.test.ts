import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGitRepo } from '../scheduler/support.js';
import { onCleanup, type TestEnv } from '../support/harness.js';
import { apiAs } from './support/api.js';
import { loginThroughForm, newPage } from './support/browser.js';
import { startLiveConsole } from './support/processes.js';

const ADMIN_PASSWORD = 'console-admin-pw';
// docs/screenshots/{job-template-form,survey-editor,schedule-builder,template-access,team-roles}.png, written with PLAYSTREAM_UPDATE_SCREENSHOTS=1. (support/processes.ts screenshotDir).
const PLAYBOOK = `- name: Acme deploy
  hosts: all
  gather_facts: false
  tasks:
    - name: Say the colour
      ansible.builtin.debug:
        msg: "deploying the {{ colour }} release"
`;

/**
 * Issue 19's walk-through, in Chromium against the real stack (web, receiver, dispatcher
 * running ansible-runner): an organization admin who is not a superuser sets everything up
 * in the console — a project from a local git repository, an inventory with a host and a
 * group, a machine credential whose SSH key is pasted from a file, a notification, a job
 * template with a survey and that notification, execute granted to a team, a schedule —
 * and launches it; then a member of the team logs in, runs it and reads its output. Every
 * page visited logs no console error (a failed request is one, in Chromium).
 */
describe('an organization admin sets up and runs a template in the console', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let screenshots: string;
  const consoleErrors: string[] = [];
  const hooks: { path: string; body: string }[] = [];
  let hookUrl: string;
  let keyFile: string;
  let orgId: number;
  let teamId: number;
  const admin = (method: string, p: string, body?: unknown) => apiAs(base, 'admin', ADMIN_PASSWORD, method, p, body);

  function watch(page: Page, who: string): Page {
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${who} ${page.url()}: ${m.text()}`); });
    page.on('pageerror', (e) => consoleErrors.push(`${who} ${page.url()}: ${e.message}`));
    return page;
  }
  /** The content scrolls inside the shell, so a long page is shot in a viewport tall enough for it. */
  async function shot(page: Page, name: string, height = 1000): Promise<void> {
    if (height !== 1000) await page.setViewportSize({ width: 1400, height });
    await page.screenshot({ path: path.join(screenshots, `${name}.png`) });
    if (height !== 1000) await page.setViewportSize({ width: 1400, height: 1000 });
  }
  const idFromUrl = (page: Page) => Number(/\/(\d+)(?:\/[a-z]*)?$/.exec(new URL(page.url()).pathname)![1]);

  beforeAll(async () => {
    ({ env, base, browser, screenshots } = await startLiveConsole(ADMIN_PASSWORD));
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; }).on('end', () => { hooks.push({ path: req.url ?? '', body }); res.end('ok'); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise<void>((r) => server.close(() => r())));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/acme`;
    createGitRepo(path.join(env.dataDir, 'acme-repo'), { 'site.yml': PLAYBOOK });
    // The key a user has on disk, as ssh-keygen writes it (OpenSSH format, trailing newline).
    keyFile = path.join(env.dataDir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy@acme', '-f', keyFile]);

    // Set-up as an admin script would do it: the organization, its admin (not a superuser),
    // a team and its member.
    orgId = (await admin('POST', '/api/v2/organizations/', { name: 'Acme' })).id;
    const olivia = await admin('POST', '/api/v2/users/', { username: 'olivia', password: 'olivia-password-1' });
    await admin('POST', `/api/v2/organizations/${orgId}/admins/`, { id: olivia.id });
    const tom = await admin('POST', '/api/v2/users/', { username: 'tom', password: 'tom-password-1' });
    teamId = (await admin('POST', '/api/v2/teams/', { name: 'Ops', organization: orgId })).id;
    await admin('POST', `/api/v2/teams/${teamId}/users/`, { id: tom.id });
  });

  it('creates project, inventory, credential, notification, template, survey, access and schedule as org admin, and launches it', async () => {
    const { page } = await newPage(browser, { width: 1400, height: 1000 });
    watch(page, 'olivia');
    page.on('dialog', (d) => void d.accept());
    await loginThroughForm(page, base, 'olivia', 'olivia-password-1', '/projects');
    expect(await page.textContent('[data-testid=whoami]')).toBe('olivia');

    // Project from the local git repository; creating it starts its first update.
    await page.locator('[data-testid=add]').click();
    await page.fill('input[name=name]', 'Acme site');
    await page.locator('select[name=organization] option', { hasText: 'Acme' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=organization]', { label: 'Acme' });
    await page.selectOption('select[name=scm_type]', 'git');
    await page.fill('input[name=scm_url]', `file://${path.join(env.dataDir, 'acme-repo')}`);
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/projects\/\d+$/);
    const projectId = idFromUrl(page);
    // Every object with roles shows who holds them: the project's creator-organization admin sees its roles.
    await page.locator('[data-testid=access] tr[data-role=use_role]').waitFor();
    await expect.poll(async () => (await admin('GET', `/api/v2/projects/${projectId}/`)).status, { timeout: 60_000, interval: 300 }).toBe('successful');

    // Inventory, a host (enabled by default) and a group.
    await page.goto(`${base}/inventories`);
    await page.locator('[data-testid=add]').click();
    await page.fill('input[name=name]', 'Acme hosts');
    await page.locator('select[name=organization] option', { hasText: 'Acme' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=organization]', { label: 'Acme' });
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/inventories\/\d+$/);
    const inventoryId = idFromUrl(page);
    await page.locator('.resource-table', { hasText: 'Hosts' }).locator('[data-testid=add]').click();
    await page.fill('input[name=name]', 'localhost');
    expect(await page.isChecked('input[name=enabled]')).toBe(true);
    await page.fill('textarea[name=variables]', 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"\n');
    await page.click('button:has-text("Create")');
    await page.waitForURL(new RegExp(`/inventories/${inventoryId}$`));
    await page.locator('.resource-table', { hasText: 'Groups' }).locator('[data-testid=add]').click();
    await page.fill('input[name=name]', 'web');
    await page.click('button:has-text("Create")');
    await page.waitForURL(new RegExp(`/inventories/${inventoryId}$`));
    await page.locator('.resource-table', { hasText: 'Groups' }).locator('tr', { hasText: 'web' }).waitFor();
    const { rows: hostRows } = await env.pool.query('SELECT name, enabled FROM hosts WHERE inventory_id = $1', [inventoryId]);
    expect(hostRows).toEqual([{ name: 'localhost', enabled: true }]);
    expect((await env.pool.query('SELECT name FROM groups WHERE inventory_id = $1', [inventoryId])).rows).toEqual([{ name: 'web' }]);

    // Machine credential, its key pasted from the file.
    const key = fs.readFileSync(keyFile, 'utf8');
    await page.goto(`${base}/credentials`);
    await page.locator('[data-testid=add]').click();
    await page.fill('input[name=name]', 'Acme deploy key');
    await page.locator('select[name=organization] option', { hasText: 'Acme' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=organization]', { label: 'Acme' });
    await page.selectOption('select[name=credential_type]', { label: 'Machine' });
    await page.fill('input[name="inputs.username"]', 'deploy');
    await page.locator('textarea[name="inputs.ssh_key_data"]').focus();
    await page.keyboard.insertText(key);
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/credentials\/\d+$/);
    const credentialId = idFromUrl(page);
    const stored = (await env.pool.query('SELECT inputs FROM credentials WHERE id = $1', [credentialId])).rows[0].inputs;
    expect(env.secrets.decrypt(stored.ssh_key_data)).toBe(key);

    // A webhook notification.
    await page.goto(`${base}/notification_templates`);
    await page.locator('[data-testid=add]').click();
    await page.fill('input[name=name]', 'Acme hook');
    await page.locator('select[name=organization] option', { hasText: 'Acme' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=organization]', { label: 'Acme' });
    await page.selectOption('select[name=notification_type]', 'webhook');
    await page.fill('textarea[name=notification_configuration]', JSON.stringify({ url: hookUrl, http_method: 'POST', headers: {} }));
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/notification_templates\/\d+$/);
    const notificationId = idFromUrl(page);

    // The job template, from Add on /templates, with every picker.
    await page.goto(`${base}/templates`);
    await page.locator('[data-testid=add]').click();
    await page.waitForURL(/\/templates\/job_template\/new$/);
    await page.fill('input[name=name]', 'Acme deploy');
    await page.locator('select[name=project] option', { hasText: 'Acme site' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=project]', { label: 'Acme site' });
    await page.locator('select[name=playbook] option', { hasText: 'site.yml' }).waitFor({ state: 'attached' });
    expect(await page.locator('select[name=playbook] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['', 'site.yml']);
    await page.selectOption('select[name=playbook]', 'site.yml');
    await page.selectOption('select[name=inventory]', { label: 'Acme hosts' });
    await page.locator('select[name=credentials] option', { hasText: 'Acme deploy key' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=credentials]', { label: 'Acme deploy key' });
    await page.locator('[data-picker=credentials] .chip', { hasText: 'Acme deploy key' }).waitFor();
    await page.locator('select[name=notify_success] option', { hasText: 'Acme hook' }).waitFor({ state: 'attached' });
    await page.selectOption('select[name=notify_success]', { label: 'Acme hook' });
    await page.fill('input[name=new_label]', 'production');
    await page.click('button:has-text("Add label")');
    await page.check('input[name=survey_enabled]');
    await shot(page, 'job-template-form', 1850);
    await page.click('button:has-text("Create")');
    await page.waitForURL(/\/templates\/job_template\/\d+$/);
    const jt = idFromUrl(page);
    const made = await admin('GET', `/api/v2/job_templates/${jt}/`);
    expect(made).toMatchObject({ name: 'Acme deploy', project: projectId, inventory: inventoryId, playbook: 'site.yml', organization: orgId, survey_enabled: true });
    expect(made.summary_fields.credentials.map((c: any) => c.id)).toEqual([credentialId]);
    expect(made.summary_fields.labels.results.map((l: any) => l.name)).toEqual(['production']);
    expect((await admin('GET', `/api/v2/job_templates/${jt}/notification_templates_success/`)).results.map((n: any) => n.id)).toEqual([notificationId]);
    await page.locator('[data-notify=success]', { hasText: 'Acme hook' }).waitFor();

    // Its survey.
    await page.click('a:has-text("Survey")');
    await page.waitForURL(new RegExp(`/templates/job_template/${jt}/survey$`));
    await page.click('[data-testid=add-question]');
    await page.fill('.question-form input[name=question_name]', 'Release colour');
    await page.fill('.question-form input[name=variable]', 'colour');
    await page.selectOption('.question-form select[name=type]', 'multiplechoice');
    await page.fill('.question-form textarea[name=choices]', 'red\ngreen\nblue');
    await page.fill('.question-form input[name=default]', 'red');
    await shot(page, 'survey-editor');
    await page.click('button:has-text("Save question")');
    await page.locator('tr[data-variable=colour]').waitFor();
    expect((await admin('GET', `/api/v2/job_templates/${jt}/survey_spec/`)).spec).toEqual([{ question_name: 'Release colour', question_description: '',
      variable: 'colour', type: 'multiplechoice', required: true, default: 'red', choices: 'red\ngreen\nblue' }]);

    // Execute for the team, from the template's access panel.
    await page.goto(`${base}/templates/job_template/${jt}`);
    const access = page.locator('[data-testid=access]');
    await access.locator('select[name=holder] option', { hasText: 'Ops' }).waitFor({ state: 'attached' });
    await access.locator('select[name=role]').selectOption({ label: 'Execute' });
    await access.locator('select[name=holder]').selectOption({ label: 'Ops' });
    await access.locator('button:has-text("Grant")').click();
    await access.locator(`tr[data-role=execute_role] [data-holder="teams:${teamId}"]`).waitFor();
    await shot(page, 'template-access');
    const { rows: granted } = await env.pool.query(`SELECT r.role_field FROM rbac_role_teams rt JOIN rbac_roles r ON r.id = rt.role_id
      WHERE rt.team_id = $1 AND r.resource_type = 'job_template' AND r.resource_id = $2`, [teamId, jt]);
    expect(granted).toEqual([{ role_field: 'execute_role' }]);
    // The same grant seen from the team's roles screen.
    await page.goto(`${base}/teams/${teamId}`);
    await page.click('[data-testid=roles]');
    await page.waitForURL(new RegExp(`/teams/${teamId}/roles$`));
    await page.locator('.held-roles tr', { hasText: 'Acme deploy' }).locator('text=Execute').waitFor();
    await shot(page, 'team-roles');

    // A schedule from the builder, its next runs shown before saving.
    await page.goto(`${base}/templates/job_template/${jt}`);
    await page.click('a:has-text("Add schedule")');
    await page.fill('.schedule-form input[name=name]', 'Twice weekly');
    await page.fill('.schedule-form input[name=start]', '2031-01-06T09:00');
    await page.selectOption('.schedule-form select[name=timezone]', 'UTC');
    await page.selectOption('.schedule-form select[name=frequency]', 'WEEKLY');
    await page.check('.schedule-form input[name=day_MO]');
    await page.check('.schedule-form input[name=day_TH]');
    await page.selectOption('.schedule-form select[name=end]', 'count');
    await page.fill('.schedule-form input[name=count]', '4');
    const rrule = 'DTSTART:20310106T090000Z RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TH;COUNT=4';
    await expect.poll(() => page.textContent('[data-testid=rrule]')).toBe(rrule);
    await expect.poll(() => page.locator('[data-testid=preview] li').evaluateAll((ls) => ls.map((l) => l.textContent!.slice(0, 16))))
      .toEqual(['2031-01-06 09:00', '2031-01-09 09:00', '2031-01-13 09:00', '2031-01-16 09:00']);
    await shot(page, 'schedule-builder');
    await page.click('button:has-text("Save schedule")');
    await page.waitForURL(new RegExp(`/templates/job_template/${jt}$`));
    await page.locator('.template-schedules tr', { hasText: 'Twice weekly' }).waitFor();
    const { rows: [schedule] } = await env.pool.query(`SELECT rrule, next_run, enabled FROM schedules WHERE unified_job_template_id = $1`, [jt]);
    expect(schedule.rrule).toBe(rrule);
    expect(schedule.enabled).toBe(true);
    expect(new Date(schedule.next_run).toISOString()).toBe('2031-01-06T09:00:00.000Z');

    // Launch: the survey asks, the job runs with the answer, the notification is sent.
    await page.locator('.page-head button', { hasText: 'Launch' }).click();
    await page.waitForURL(new RegExp(`/templates/job_template/${jt}/launch$`));
    await page.selectOption('form.launch-form select[name=colour]', 'green');
    await page.click('form.launch-form button[type=submit]');
    await page.waitForURL(/\/jobs\/job\/\d+\/output$/);
    const jobId = Number(/\/jobs\/job\/(\d+)\//.exec(page.url())![1]);
    await page.waitForSelector('.page-head [data-status=successful]', { timeout: 90_000 });
    await page.waitForFunction(() => document.querySelector('.output-rows')?.textContent?.includes('deploying the green release'), undefined, { timeout: 15_000 });
    await expect.poll(() => hooks.length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(hooks[0].path).toBe('/acme');
    expect(hooks[0].body).toContain(String(jobId));
  }, 240_000);

  it('lets the team member run the template and read its output, with nothing to edit', async () => {
    const { page } = await newPage(browser);
    watch(page, 'tom');
    await loginThroughForm(page, base, 'tom', 'tom-password-1', '/templates');
    const row = page.locator('tr', { hasText: 'Acme deploy' });
    await row.waitFor();
    expect(await page.locator('[data-testid=add]').count()).toBe(0);
    await row.locator('a', { hasText: 'Acme deploy' }).click();
    await page.waitForURL(/\/templates\/job_template\/\d+$/);
    await page.locator('[data-testid=access]').waitFor();
    expect(await page.locator('[data-testid=edit]').count()).toBe(0);
    expect(await page.locator('.grant-form').count()).toBe(0);
    await page.locator('.page-head button', { hasText: 'Launch' }).click();
    await page.waitForURL(/\/launch$/);
    await page.selectOption('form.launch-form select[name=colour]', 'blue');
    await page.click('form.launch-form button[type=submit]');
    await page.waitForURL(/\/jobs\/job\/\d+\/output$/);
    await page.waitForSelector('.page-head [data-status=successful]', { timeout: 90_000 });
    await page.waitForFunction(() => document.querySelector('.output-rows')?.textContent?.includes('deploying the blue release'), undefined, { timeout: 15_000 });
    const jobId = Number(/\/jobs\/job\/(\d+)\//.exec(page.url())![1]);
    const { rows: [job] } = await env.pool.query(`SELECT u.username FROM unified_jobs j JOIN users u ON u.id = j.created_by_id WHERE j.id = $1`, [jobId]);
    expect(job.username).toBe('tom');
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
