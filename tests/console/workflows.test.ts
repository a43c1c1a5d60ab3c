import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { apiAs } from './support/api.js';
import { loginThroughForm, newPage } from './support/browser.js';
import { childLogTails, screenshotDir, startLiveConsole } from './support/processes.js';

const ADMIN_PASSWORD = 'console-admin-pw';
// docs/screenshots/workflow-job.png is this test's, written there with PLAYSTREAM_UPDATE_SCREENSHOTS=1 (as live-job.test.ts's). (support/processes.ts screenshotDir).
/** A playbook slow enough that a node is seen running before it succeeds. */
const PAUSE_PLAYBOOK = `- name: Pause a little
  hosts: all
  gather_facts: false
  tasks:
    - name: Wait
      ansible.builtin.pause:
        seconds: 3
`;

/**
 * The workflow view in Chromium against the real stack (web, receiver, dispatcher running
 * ansible-runner): a workflow launched from the console, its nodes' states changing on the
 * open page, an approval approved there and the workflow continuing to successful; and
 * the graph edited from the console (add, link, unlink, remove), each change read back
 * from the API.
 */
describe('the console workflow view', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  const api = (method: string, p: string, body?: unknown) => apiAs(base, 'admin', ADMIN_PASSWORD, method, p, body);
  let demo: any;
  let slow: any;

  beforeAll(async () => {
    ({ env, base, browser } = await startLiveConsole(ADMIN_PASSWORD));
    const repo = path.join(env.dataDir, 'demo-project');
    fs.writeFileSync(path.join(repo, 'pause.yml'), PAUSE_PLAYBOOK);
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'add', 'pause.yml'], { cwd: repo });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-m', 'pause playbook'], { cwd: repo });
    demo = (await api('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).results[0];
    slow = await api('POST', '/api/v2/job_templates/', { name: 'Slow', project: demo.project, inventory: demo.inventory, playbook: 'pause.yml' });
  });

  /** A failure in CI leaves nothing else behind: what the server, the page and the children saw. */
  function reportIfFailed(page: Page, wj: number): void {
    onTestFailed(async () => {
      const report: unknown[] = [];
      for (const n of (await api('GET', `/api/v2/workflow_jobs/${wj}/workflow_nodes/`)).results) {
        const job = n.job == null ? undefined : await api('GET', `/api/v2/unified_jobs/?id=${n.job}`).then((r) => r.results[0]);
        report.push({ identifier: n.identifier, job: n.job, do_not_run: n.do_not_run, status: job?.status, explanation: job?.job_explanation });
      }
      const seen = await page.evaluate(() => (window as any).__seen).catch(() => undefined);
      console.error(`workflow job ${wj}: ${JSON.stringify(report)}\npage saw: ${JSON.stringify(seen)}\n${childLogTails()}`);
    });
  }

  async function statusesOf(page: Page, identifier: string): Promise<string[]> {
    return page.evaluate((id) => (window as any).__seen?.[id] ?? [], identifier);
  }

  it('shows a running workflow\'s nodes change state live, approves its approval, and the workflow continues', async () => {
    // first (Slow) → success → gate (approval) → success → after (Slow); first → failure → rollback (Demo).
    const w = await api('POST', '/api/v2/workflow_job_templates/', { name: 'Gated deploy', organization: 1 });
    const first = await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { unified_job_template: slow.id, identifier: 'first' });
    const gate = await api('POST', `/api/v2/workflow_job_template_nodes/${first.id}/success_nodes/`, { identifier: 'gate' });
    await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/create_approval_template/`, { name: 'Go to production?' });
    await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/success_nodes/`, { unified_job_template: slow.id, identifier: 'after' });
    await api('POST', `/api/v2/workflow_job_template_nodes/${first.id}/failure_nodes/`, { unified_job_template: demo.id, identifier: 'rollback' });

    const { page } = await newPage(browser);
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, '/workflow_templates');
    await page.locator('tr', { hasText: 'Gated deploy' }).locator('button', { hasText: 'Launch' }).click();
    await page.waitForURL(/\/jobs\/workflow_job\/\d+$/);
    const wj = Number(/\/workflow_job\/(\d+)$/.exec(page.url())![1]);
    reportIfFailed(page, wj);
    await page.waitForSelector('.wf-node[data-identifier=first]');
    // Every data-status a node shows from here on, recorded in the page as it changes.
    await page.evaluate(() => {
      const seen: Record<string, string[]> = ((window as any).__seen = {});
      const note = (el: Element) => {
        const id = el.getAttribute('data-identifier') ?? '';
        const s = el.getAttribute('data-status') ?? '';
        const list = (seen[id] ??= []);
        if (list[list.length - 1] !== s) list.push(s);
      };
      document.querySelectorAll('.wf-node').forEach(note);
      new MutationObserver((muts) => muts.forEach((m) => {
        if (m.target instanceof Element && m.target.classList.contains('wf-node')) note(m.target);
        m.addedNodes.forEach((n) => { if (n instanceof Element && n.classList.contains('wf-node')) note(n); });
      })).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
    });
    const navigations: string[] = [];
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });

    // The graph: four nodes, three edges (success, success, failure).
    expect(await page.locator('.wf-node').count()).toBe(4);
    expect(await page.locator('.wf-edges path[data-edge]').count()).toBe(3);
    await page.waitForSelector('.wf-node[data-identifier=first][data-status=running]', { timeout: 90_000 });
    await page.waitForSelector('.wf-node[data-identifier=first][data-status=successful]', { timeout: 60_000 });
    await page.waitForSelector('.wf-node[data-identifier=gate][data-status=pending]', { timeout: 30_000 });
    expect(await statusesOf(page, 'first')).toEqual(expect.arrayContaining(['running', 'successful']));
    expect(await page.getAttribute('.page-head [data-status]', 'data-status')).toBe('running');
    expect(await page.getAttribute('.wf-node[data-identifier=after]', 'data-status')).toBe('waiting_to_run');

    // The approval, listed with Approve/Deny; approving it runs `after`; the failure path never runs.
    const row = page.locator('[data-testid=approvals] tr[data-approval-id]');
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.textContent()).toContain('Go to production?');
    await row.locator('button', { hasText: 'Approve' }).click();
    await page.waitForSelector('.wf-node[data-identifier=gate][data-status=successful]', { timeout: 30_000 });
    await page.waitForSelector('.wf-node[data-identifier=after][data-status=running]', { timeout: 90_000 });
    await page.waitForSelector('.page-head [data-status=successful]', { timeout: 90_000 });
    await page.waitForSelector('.wf-node[data-identifier=after][data-status=successful]');
    await page.waitForSelector('.wf-node[data-identifier=rollback][data-status=do_not_run]');
    expect(await statusesOf(page, 'after')).toEqual(expect.arrayContaining(['waiting_to_run', 'running', 'successful']));
    // All of it arrived on the open page: it never navigated.
    expect(navigations).toEqual([]);
    const shots = screenshotDir(env.dataDir);
    await page.screenshot({ path: path.join(shots, 'workflow-job.png') });

    // The server agrees: approved by admin, the workflow successful.
    const nodes = (await api('GET', `/api/v2/workflow_jobs/${wj}/workflow_nodes/`)).results;
    const approval = await api('GET', `/api/v2/workflow_approvals/${nodes.find((n: any) => n.identifier === 'gate').job}/`);
    expect(approval).toMatchObject({ status: 'successful', approved_or_denied_by: 1 });
    expect((await api('GET', `/api/v2/workflow_jobs/${wj}/`)).status).toBe('successful');

    // A node opens its job's output.
    const firstJob = nodes.find((n: any) => n.identifier === 'first').job;
    await page.click('.wf-node[data-identifier=first]');
    await page.waitForURL(new RegExp(`/jobs/job/${firstJob}/output$`));
    await page.waitForSelector('.page-head [data-status=successful]');
  }, 180_000); // two playbook jobs and an approval, waited for in a browser

  it('creates a workflow job template and edits its graph: add, link, unlink, remove, a cycle refused', async () => {
    // Created from the console's form, which then opens its graph.
    const { page } = await newPage(browser);
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, '/workflow_templates');
    await page.click('.page-head a:has-text("Add")');
    await page.waitForURL(/\/workflow_job_templates\/new$/);
    await page.fill('input[name=name]', 'Edited');
    await page.locator('select[name=organization] option[value="1"]').waitFor({ state: 'attached' });
    await page.selectOption('select[name=organization]', '1');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/templates\/workflow_job_template\/\d+$/);
    const w = (await api('GET', '/api/v2/workflow_job_templates/?name=Edited')).results[0];
    expect(w).toMatchObject({ name: 'Edited', organization: 1 });
    expect(page.url()).toMatch(new RegExp(`/templates/workflow_job_template/${w.id}$`));
    const add = page.locator('[data-testid=wf-add-node]');
    await add.locator(`select[name=template] option[value="${demo.id}"]`).waitFor({ state: 'attached' });
    const nodeList = async () => (await api('GET', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/?order_by=id`)).results;
    const byIdentifier = async () => Object.fromEntries((await nodeList()).map((n: any) => [n.identifier, n]));

    await add.locator('select[name=template]').selectOption(String(demo.id));
    await add.locator('input[name=identifier]').fill('one');
    await add.locator('button[type=submit]').click();
    await page.waitForSelector('.wf-node[data-identifier=one]');
    let n = await byIdentifier();
    expect(n.one.unified_job_template).toBe(demo.id);

    // After `one` on failure.
    await add.locator('select[name=template]').selectOption(String(slow.id));
    await add.locator('input[name=identifier]').fill('two');
    await add.locator('select[name=parent]').selectOption(String(n.one.id));
    await add.locator('select[name=kind]').selectOption('failure');
    await add.locator('button[type=submit]').click();
    await page.waitForSelector('.wf-node[data-identifier=two]');
    n = await byIdentifier();
    expect(n.one.failure_nodes).toEqual([n.two.id]);
    expect(await page.locator(`.wf-edges path[data-edge="${n.one.id}-failure-${n.two.id}"]`).count()).toBe(1);

    // An approval node, a root.
    await add.locator('select[name=template]').selectOption('approval');
    await add.locator('input[name=identifier]').fill('three');
    await add.locator('input[name=approval_name]').fill('Sign off');
    await add.locator('button[type=submit]').click();
    await page.waitForSelector('.wf-node[data-identifier=three]');
    n = await byIdentifier();
    expect(n.three.summary_fields.unified_job_template).toMatchObject({ name: 'Sign off', unified_job_type: 'workflow_approval' });

    // Link one → three on always.
    const link = page.locator('[data-testid=wf-link]');
    await link.locator('select[name=from]').selectOption(String(n.one.id));
    await link.locator('select[name=kind]').selectOption('always');
    await link.locator('select[name=to]').selectOption(String(n.three.id));
    await link.locator('button[type=submit]').click();
    await page.waitForSelector(`.wf-edges path[data-edge="${n.one.id}-always-${n.three.id}"]`, { state: 'attached' });
    expect((await byIdentifier()).one.always_nodes).toEqual([n.three.id]);

    // A cycle (three → one) is refused by the server and the refusal shown; nothing stored.
    await link.locator('select[name=from]').selectOption(String(n.three.id));
    await link.locator('select[name=kind]').selectOption('success');
    await link.locator('select[name=to]').selectOption(String(n.one.id));
    await link.locator('button[type=submit]').click();
    await page.locator('.wf-editor [role=alert]', { hasText: 'Cycle detected' }).waitFor();
    expect((await byIdentifier()).three.success_nodes).toEqual([]);

    // Unlink one → two (the failure edge), from the selected node's links.
    await page.click('.wf-node[data-identifier=one]');
    await page.locator(`[data-testid=wf-selected] tr[data-edge="${n.one.id}-failure-${n.two.id}"] button`).click();
    await page.waitForSelector(`.wf-edges path[data-edge="${n.one.id}-failure-${n.two.id}"]`, { state: 'detached' });
    expect((await byIdentifier()).one.failure_nodes).toEqual([]);

    // Remove node three: its edge goes with it.
    await page.click('.wf-node[data-identifier=three]');
    await page.locator('[data-testid=wf-selected] button', { hasText: 'Remove node' }).click();
    await page.waitForSelector('.wf-node[data-identifier=three]', { state: 'detached' });
    const left = await byIdentifier();
    expect(Object.keys(left).sort()).toEqual(['one', 'two']);
    expect(left.one.always_nodes).toEqual([]);
  });

  it('shows no editing to a user who may only read the template, and the API refuses that user\'s edit', async () => {
    const w = await api('POST', '/api/v2/workflow_job_templates/', { name: 'Read only', organization: 1 });
    await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { unified_job_template: demo.id, identifier: 'solo' });
    const user = await api('POST', '/api/v2/organizations/1/users/', { username: 'reader', password: 'reader-pass' });
    const roles = (await api('GET', `/api/v2/workflow_job_templates/${w.id}/object_roles/`)).results;
    await api('POST', `/api/v2/roles/${roles.find((r: any) => r.name === 'Read').id}/users/`, { id: user.id });
    const { page } = await newPage(browser);
    await loginThroughForm(page, base, 'reader', 'reader-pass', `/templates/workflow_job_template/${w.id}`);
    await page.waitForSelector('.wf-node[data-identifier=solo]');
    expect(await page.locator('[data-testid=wf-add-node]').count()).toBe(0);
    expect(await page.locator('.page-head button', { hasText: 'Launch' }).count()).toBe(0);
    const status = await page.evaluate(async (id) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))!.split('=')[1];
      return (await fetch(`/api/v2/workflow_job_templates/${id}/workflow_nodes/`, { method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrftoken': csrf }, body: '{}' })).status;
    }, w.id);
    expect(status).toBe(403);
  });

  it('launches a workflow with prompts and a survey through the launch page', async () => {
    const w = await api('POST', '/api/v2/workflow_job_templates/', { name: 'Surveyed workflow', organization: 1, ask_limit_on_launch: true,
      survey_enabled: true });
    await api('POST', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, { name: '', description: '', spec: [
      { question_name: 'Environment', variable: 'target_env', type: 'multiplechoice', choices: ['staging', 'production'], required: true },
      { question_name: 'Replicas', variable: 'replicas', type: 'integer', min: 1, max: 5, required: false, default: 2 }] });
    const { page } = await newPage(browser);
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, '/workflow_templates');
    await page.locator('tr', { hasText: 'Surveyed workflow' }).locator('button', { hasText: 'Launch' }).click();
    await page.waitForURL(new RegExp(`/templates/workflow_job_template/${w.id}/launch$`));
    await page.locator('h1', { hasText: 'Launch Surveyed workflow' }).waitFor();
    await page.fill('input[name=limit]', 'web*');
    await page.selectOption('select[name=target_env]', 'production');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/jobs\/workflow_job\/\d+$/);
    const wj = Number(/\/workflow_job\/(\d+)$/.exec(page.url())![1]);
    reportIfFailed(page, wj);
    const job = await api('GET', `/api/v2/workflow_jobs/${wj}/`);
    expect(job).toMatchObject({ workflow_job_template: w.id, limit: 'web*' });
    expect(JSON.parse(job.extra_vars)).toEqual({ target_env: 'production', replicas: 2 });
  });
});
