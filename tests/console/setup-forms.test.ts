import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedFirstStart } from '../../src/db/seed.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { apiAs } from './support/api.js';
import { launchBrowser, loginThroughForm, newPage } from './support/browser.js';

const ADMIN_PASSWORD = 'console-admin-pw';

/**
 * The set-up pages refuse what AWX would refuse, at the field, before a request — and show
 * the server's refusal when it comes — and offer nothing a user could only fail at: the
 * survey editor, the job template form, the schedule builder and the roles screens.
 */
describe('console set-up forms', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let page: Page;
  let jt: number;
  const posts: string[] = [];
  const admin = (method: string, p: string, body?: unknown) => apiAs(base, 'admin', ADMIN_PASSWORD, method, p, body);

  beforeAll(async () => {
    env = await useTestEnv();
    await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: ADMIN_PASSWORD });
    base = (await startTestWeb(env)).url;
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
    page.on('dialog', (d) => void d.accept());
    page.on('request', (r) => { if (r.method() !== 'GET' && r.method() !== 'OPTIONS') posts.push(`${r.method()} ${new URL(r.url()).pathname}`); });
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD);
    jt = (await admin('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).results[0].id;
    // The Demo Project as an update leaves it: its playbook list known.
    await env.pool.query(`UPDATE projects SET scm_revision = 'abc', playbook_files = '["hello_world.yml"]' WHERE name = 'Demo Project'`);
    await admin('POST', '/api/v2/users/', { username: 'reader', password: 'reader-password-1' });
    const readerId = (await env.pool.query("SELECT id FROM users WHERE username = 'reader'")).rows[0].id;
    const read = (await admin('GET', `/api/v2/job_templates/${jt}/`)).summary_fields.object_roles.read_role;
    await admin('POST', `/api/v2/users/${readerId}/roles/`, { id: read.id });
  });

  async function question(fill: Record<string, string>, type = 'text') {
    await page.click('[data-testid=add-question]');
    await page.selectOption('.question-form select[name=type]', type);
    for (const [k, v] of Object.entries(fill)) await page.fill(`.question-form [name=${k}]`, v);
    await page.click('button:has-text("Save question")');
  }
  const fieldError = (field: string) => page.locator(`.field-error[data-field=${field}]`);

  it('survey editor: refuses bad questions at their field without saving, shows the server refusal, reorders, deletes, toggles', async () => {
    await page.goto(`${base}/templates/job_template/${jt}/survey`);
    await question({ question_name: 'Region', variable: 'region', choices: 'eu\nus' }, 'multiplechoice');
    await page.locator('tr[data-variable=region]').waitFor();
    posts.length = 0;

    await question({ question_name: 'Bad', variable: '1st-var' });
    await expect.poll(() => fieldError('variable').textContent()).toMatch(/Letters, digits and underscores/);
    await page.fill('.question-form [name=variable]', 'region');
    await page.click('button:has-text("Save question")');
    await expect.poll(() => fieldError('variable').textContent()).toMatch(/already sets region/);
    await page.selectOption('.question-form select[name=type]', 'multiselect');
    await page.fill('.question-form [name=variable]', 'zones');
    await page.fill('.question-form [name=choices]', 'a\nb');
    await page.fill('.question-form [name=default]', 'c');
    await page.click('button:has-text("Save question")');
    await expect.poll(() => fieldError('default').textContent()).toMatch(/one of the choices/);
    await page.selectOption('.question-form select[name=type]', 'integer');
    await page.fill('.question-form [name=min]', '5');
    await page.fill('.question-form [name=max]', '2');
    await page.click('button:has-text("Save question")');
    await expect.poll(() => fieldError('max').textContent()).toMatch(/below the minimum/);
    expect(posts).toEqual([]);

    // What only the server knows: $encrypted$ is no text default.
    await page.selectOption('.question-form select[name=type]', 'text');
    await page.fill('.question-form [name=min]', '');
    await page.fill('.question-form [name=max]', '');
    await page.fill('.question-form [name=default]', '$encrypted$');
    await page.click('button:has-text("Save question")');
    await expect.poll(() => page.locator('[role=alert].error').textContent()).toMatch(/Not saved: .*reserved keyword for password question defaults/);
    await expect.poll(async () => (await admin('GET', `/api/v2/job_templates/${jt}/survey_spec/`)).spec.map((q: any) => q.variable)).toEqual(['region']);
    // The form kept what was typed; fixed, it saves.
    await page.fill('.question-form [name=default]', '3');
    await page.click('button:has-text("Save question")');
    await page.locator('tr[data-variable=zones]').waitFor();
    const spec = (await admin('GET', `/api/v2/job_templates/${jt}/survey_spec/`)).spec;
    expect(spec.map((q: any) => [q.variable, q.type, q.default])).toEqual([['region', 'multiplechoice', ''], ['zones', 'text', '3']]);

    await page.locator('tr[data-variable=zones] button[title="Move up"]').click();
    await expect.poll(async () => (await admin('GET', `/api/v2/job_templates/${jt}/survey_spec/`)).spec.map((q: any) => q.variable)).toEqual(['zones', 'region']);
    await page.locator('tr[data-variable=zones] button:has-text("Delete")').click();
    await expect.poll(async () => (await admin('GET', `/api/v2/job_templates/${jt}/survey_spec/`)).spec.map((q: any) => q.variable)).toEqual(['region']);
    await page.locator('tr[data-variable=region] button:has-text("Delete")').click();
    // The last question gone, the survey spec is emptied (AWX refuses an empty spec list).
    await expect.poll(async () => admin('GET', `/api/v2/job_templates/${jt}/survey_spec/`)).toEqual({});
    await page.check('input[name=survey_enabled]');
    await expect.poll(async () => (await admin('GET', `/api/v2/job_templates/${jt}/`)).survey_enabled).toBe(true);
    await page.uncheck('input[name=survey_enabled]');
    await expect.poll(async () => (await admin('GET', `/api/v2/job_templates/${jt}/`)).survey_enabled).toBe(false);
  });

  it("job template form: a playbook no longer in the project is the server's 400 at the field; bad extra vars are refused before saving", async () => {
    await env.pool.query(`UPDATE job_templates SET playbook = 'removed.yml' WHERE id = $1`, [jt]);
    await page.goto(`${base}/templates/job_template/${jt}/edit`);
    await page.locator('select[name=playbook] option', { hasText: 'removed.yml (not in the project)' }).waitFor({ state: 'attached' });
    await page.fill('input[name=description]', 'edited');
    await page.click('button:has-text("Save")');
    await expect.poll(() => fieldError('playbook').textContent()).toBe('Playbook not found for project.');
    expect((await env.pool.query('SELECT description FROM job_templates WHERE id = $1', [jt])).rows[0].description).toBe('');

    await page.selectOption('select[name=playbook]', 'hello_world.yml');
    await page.fill('textarea[name=extra_vars]', 'a: [1, 2\n');
    posts.length = 0;
    await page.click('button:has-text("Save")');
    await expect.poll(() => fieldError('extra_vars').textContent()).toMatch(/Not valid JSON or YAML/);
    expect(posts).toEqual([]);
    await page.fill('textarea[name=extra_vars]', 'a: [1, 2]\n');
    await page.click('button:has-text("Save")');
    await expect.poll(async () => (await env.pool.query('SELECT playbook, description, extra_vars FROM job_templates WHERE id = $1', [jt])).rows[0])
      .toEqual({ playbook: 'hello_world.yml', description: 'edited', extra_vars: 'a: [1, 2]\n' });
  });

  it('schedule builder: a weekly rule without a day and an end before the start are refused at the field; "once" is one run', async () => {
    await page.goto(`${base}/templates/job_template/${jt}/schedules/new`);
    await page.fill('.schedule-form input[name=name]', 'Refused');
    await page.fill('.schedule-form input[name=start]', '2032-03-01T10:30');
    await page.selectOption('.schedule-form select[name=timezone]', 'UTC');
    await page.selectOption('.schedule-form select[name=frequency]', 'WEEKLY');
    posts.length = 0;
    await page.click('button:has-text("Save schedule")');
    await expect.poll(() => fieldError('weekdays').textContent()).toMatch(/at least one day/);
    await page.check('.schedule-form input[name=day_FR]');
    await page.selectOption('.schedule-form select[name=end]', 'until');
    await page.fill('.schedule-form input[name=until]', '2032-02-01T00:00');
    await page.click('button:has-text("Save schedule")');
    await expect.poll(() => fieldError('until').textContent()).toMatch(/after the start/);
    expect(posts.filter((p) => !p.endsWith('/schedules/preview/'))).toEqual([]);
    await page.fill('.schedule-form input[name=until]', '2032-03-20T00:00');
    await expect.poll(() => page.textContent('[data-testid=rrule]')).toBe('DTSTART:20320301T103000Z RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=FR;UNTIL=20320320T000000Z');
    await expect.poll(() => page.locator('[data-testid=preview] li').evaluateAll((ls) => ls.map((l) => l.textContent!.slice(0, 16))))
      .toEqual(['2032-03-05 10:30', '2032-03-12 10:30', '2032-03-19 10:30']);
    await page.selectOption('.schedule-form select[name=frequency]', 'once');
    await expect.poll(() => page.textContent('[data-testid=rrule]')).toBe('DTSTART:20320301T103000Z RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1');
    await page.fill('.schedule-form input[name=name]', 'Once in March');
    await page.click('button:has-text("Save schedule")');
    await page.waitForURL(new RegExp(`/templates/job_template/${jt}$`));
    const { rows } = await env.pool.query('SELECT name, rrule FROM schedules WHERE unified_job_template_id = $1', [jt]);
    expect(rows).toEqual([{ name: 'Once in March', rrule: 'DTSTART:20320301T103000Z RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1' }]);
  });

  it("roles screen: grants and revokes a user's role on an object, and the template's access panel shows it", async () => {
    const readerId = (await env.pool.query("SELECT id FROM users WHERE username = 'reader'")).rows[0].id;
    await page.goto(`${base}/users/${readerId}/roles`);
    await page.locator('.held-roles tr', { hasText: 'Demo Job Template' }).locator('text=Read').waitFor();
    await page.selectOption('.grant-form select[name=resource_type]', 'inventory');
    await page.locator('.grant-form select[name=object] option', { hasText: 'Demo Inventory' }).waitFor({ state: 'attached' });
    await page.selectOption('.grant-form select[name=object]', { label: 'Demo Inventory' });
    await page.locator('.grant-form select[name=role] option', { hasText: 'Use' }).waitFor({ state: 'attached' });
    await page.selectOption('.grant-form select[name=role]', { label: 'Use' });
    await page.click('.grant-form button:has-text("Grant")');
    const row = page.locator('.held-roles tr', { hasText: 'Demo Inventory' });
    await row.locator('text=Use').waitFor();
    const held = async () => (await env.pool.query(`SELECT r.resource_type, r.role_field FROM rbac_role_users ru JOIN rbac_roles r ON r.id = ru.role_id
      WHERE ru.user_id = $1 ORDER BY 1, 2`, [readerId])).rows;
    expect(await held()).toEqual([{ resource_type: 'inventory', role_field: 'use_role' }, { resource_type: 'job_template', role_field: 'read_role' }]);
    await row.locator('button:has-text("Revoke")').click();
    await row.waitFor({ state: 'detached' });
    expect(await held()).toEqual([{ resource_type: 'job_template', role_field: 'read_role' }]);

    await page.goto(`${base}/templates/job_template/${jt}`);
    await page.locator(`[data-testid=access] tr[data-role=read_role] [data-holder="users:${readerId}"]`).waitFor();
    // Removed from the template's side.
    await page.locator(`[data-testid=access] tr[data-role=read_role] [data-holder="users:${readerId}"] button`).click();
    await page.locator(`[data-testid=access] [data-holder="users:${readerId}"]`).waitFor({ state: 'detached' });
    expect(await held()).toEqual([]);
    const read = (await admin('GET', `/api/v2/job_templates/${jt}/`)).summary_fields.object_roles.read_role;
    await admin('POST', `/api/v2/users/${readerId}/roles/`, { id: read.id });
  });

  it('a read-only user gets no form that can only fail', async () => {
    const { page: reader } = await newPage(browser);
    await loginThroughForm(reader, base, 'reader', 'reader-password-1', `/templates/job_template/${jt}`);
    await reader.locator('[data-testid=access]').waitFor();
    expect(await reader.locator('[data-testid=edit]').count()).toBe(0);
    expect(await reader.locator('.grant-form').count()).toBe(0);
    expect(await reader.locator('a:has-text("Add schedule")').count()).toBe(0);
    // Its edit page by URL: every input disabled, no Save.
    await reader.goto(`${base}/templates/job_template/${jt}/edit`);
    await reader.locator('input[name=name]').waitFor();
    expect(await reader.locator('fieldset[disabled]').count()).toBe(1);
    expect(await reader.locator('button:has-text("Save")').count()).toBe(0);
    expect(await reader.locator('select[name=credentials]').count()).toBe(0);
    // A new template: nothing to create with.
    await reader.goto(`${base}/templates/job_template/new`);
    await reader.locator('[data-testid=no-create]').waitFor();
    expect(await reader.locator('button:has-text("Create")').count()).toBe(0);
    // The survey: read, not edited; the schedule builder: disabled.
    await reader.goto(`${base}/templates/job_template/${jt}/survey`);
    await reader.locator('table.survey-questions').waitFor();
    expect(await reader.locator('[data-testid=add-question]').count()).toBe(0);
    expect(await reader.locator('input[name=survey_enabled]').count()).toBe(0);
    await reader.goto(`${base}/templates/job_template/${jt}/schedules/new`);
    await reader.locator('[data-testid=no-schedule]').waitFor();
    expect(await reader.locator('button:has-text("Save schedule")').count()).toBe(0);
    // Generic forms too: a new inventory.
    await reader.goto(`${base}/inventories/new`);
    await reader.locator('input[name=name]').waitFor();
    expect(await reader.locator('fieldset[disabled]').count()).toBe(1);
    expect(await reader.locator('button:has-text("Create")').count()).toBe(0);
  });
});
