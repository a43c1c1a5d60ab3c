import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { loginThroughForm, newPage } from './support/browser.js';
import { startLiveConsole } from './support/processes.js';

const ADMIN_PASSWORD = 'console-admin-pw';
const LOOP_PLAYBOOK = `- name: Count to 400
  hosts: all
  gather_facts: false
  tasks:
    - name: Count
      ansible.builtin.debug:
        msg: "item {{ item }}"
      loop: "{{ range(0, 400) | list }}"
`;

/**
 * The whole path in a real browser: launch the Demo Job Template from the console, watch
 * its output arrive over the websocket (real dispatcher running ansible-runner, real
 * receiver, real web), status to successful, and the lag dashboard's figures move.
 */
describe('a job launched from the console, watched live', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let screenshots: string;
  beforeAll(async () => {
    ({ env, base, browser, screenshots } = await startLiveConsole(ADMIN_PASSWORD));
    // A busier playbook beside hello_world, so the lag dashboard has a few seconds of events to chart.
    const repo = path.join(env.dataDir, 'demo-project');
    fs.writeFileSync(path.join(repo, 'loop.yml'), LOOP_PLAYBOOK);
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'add', 'loop.yml'], { cwd: repo });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-m', 'loop playbook'], { cwd: repo });
  });

  it('launches the Demo Job Template, streams its output live to successful, and moves the lag dashboard', async () => {
    const lag = await newPage(browser, { width: 1400, height: 1000 });
    await loginThroughForm(lag.page, base, 'admin', ADMIN_PASSWORD, '/lag');
    await lag.page.waitForSelector('[data-testid=events-here]');
    // The tiles cover the last 10 s only ("—" once that window holds no event): record the
    // latency figures they show while the job's events arrive.
    await lag.page.evaluate(() => {
      const w = window as unknown as { seenDelivered: string[] };
      w.seenDelivered = [];
      setInterval(() => {
        const v = document.querySelector('[data-testid=delivered-p50] .tile-value')?.textContent;
        if (v && v !== '—') w.seenDelivered.push(v);
      }, 100);
    });

    const { page } = await newPage(browser, { width: 1400, height: 900 });
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, '/templates');
    await page.locator('tr', { hasText: 'Demo Job Template' }).locator('button', { hasText: 'Launch' }).click();
    await page.waitForURL(/\/jobs\/job\/\d+\/output$/);
    const jobId = Number(/\/jobs\/job\/(\d+)\//.exec(page.url())![1]);

    await page.waitForSelector('.page-head [data-status=successful]', { timeout: 90_000 });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.output-rows .row .text')).some((e) => e.textContent?.includes('PLAY RECAP')),
      undefined, { timeout: 15_000 });
    const text = await page.locator('.output-rows').textContent();
    expect(text).toContain('Hello World!');
    // The page was open from launch on: its events came over the websocket, not a reload.
    const out = page.locator('.output');
    expect(Number(await out.getAttribute('data-live-events'))).toBeGreaterThan(0);
    expect(Number(await out.getAttribute('data-duplicates'))).toBeGreaterThanOrEqual(0);
    const counts = await page.locator('[data-testid=host-counts]').textContent();
    expect(counts).toMatch(/ok\s*1/);
    await page.screenshot({ path: path.join(screenshots, 'job-output.png') });

    // The lag dashboard saw that job's events arrive and measured them.
    await lag.page.waitForFunction(() => Number(document.querySelector('[data-testid=events-here] .tile-value')?.textContent?.replace(/,/g, '')) > 0,
      undefined, { timeout: 15_000 });
    const delivered = await lag.page.evaluate(() => (window as unknown as { seenDelivered: string[] }).seenDelivered);
    expect(delivered[0]).toMatch(/\d+(\.\d+)? (ms|s)/);
    // The web nodes' websocket figures (metrics group) reach it: queue depth is a number, not —.
    await lag.page.waitForFunction(() => /^\d/.test(document.querySelector('[data-testid=chart-ws] .legend b')?.textContent ?? ''),
      undefined, { timeout: 10_000 });
    // The receiver's figures (metrics group) reach it too.
    await lag.page.waitForFunction(() => document.querySelector('[data-testid=events-out] .tile-value')?.textContent !== '—',
      undefined, { timeout: 10_000 });

    // Relaunch goes straight to the new job's page; cancelling it there (while it waits
    // for its project update) ends it as canceled.
    await page.click('button:has-text("Relaunch")');
    await page.waitForURL((u) => /\/jobs\/job\/\d+\/output$/.test(u.pathname) && !u.pathname.includes(`/${jobId}/`));
    await page.locator('.page-head h1', { hasText: 'Demo Job Template' }).waitFor();
    await page.click('.page-head button:has-text("Cancel")');
    await page.waitForSelector('.page-head [data-status=canceled]', { timeout: 30_000 });

    // A 400-event job: the dashboard's figures move while it is still running, and a jobs
    // list opened before it was launched shows it reach successful without a reload.
    const list = await newPage(browser);
    await loginThroughForm(list.page, base, 'admin', ADMIN_PASSWORD, '/jobs');
    await list.page.waitForSelector('tr[data-job-id]');
    const loopJob = await page.evaluate(async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))!.split('=')[1];
      const headers = { 'content-type': 'application/json', 'x-csrftoken': csrf };
      const demo = (await (await fetch('/api/v2/job_templates/?name=Demo%20Job%20Template')).json()).results[0];
      const made = await (await fetch('/api/v2/job_templates/', { method: 'POST', headers,
        body: JSON.stringify({ name: 'Count to 400', project: demo.project, inventory: demo.inventory, playbook: 'loop.yml' }) })).json();
      if (!made.id) throw new Error(JSON.stringify(made));
      const launched = await (await fetch(`/api/v2/job_templates/${made.id}/launch/`, { method: 'POST', headers, body: '{}' })).json();
      return launched.id as number;
    });
    // Narrow the dashboard to that job (its events only), as debug.js watched one job id.
    await lag.page.locator(`select option[value="${loopJob}"]`).waitFor({ state: 'attached', timeout: 15_000 });
    await lag.page.selectOption('.page-head select', String(loopJob));
    await lag.page.locator('[data-testid=chart-delivered] .chart-title', { hasText: `Job ${loopJob}` }).waitFor();
    const seenWhileRunning = new Set<string>();
    for (let status = ''; status !== 'successful' && status !== 'failed';) {
      status = (await env.pool.query('SELECT status FROM unified_jobs WHERE id = $1', [loopJob])).rows[0].status;
      if (status === 'running') seenWhileRunning.add((await lag.page.textContent('[data-testid=events-here] .tile-value'))!);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(seenWhileRunning.size).toBeGreaterThanOrEqual(2);
    await list.page.waitForSelector(`tr[data-job-id="${loopJob}"] [data-status=successful]`, { timeout: 10_000 });
    await lag.page.waitForTimeout(2000);
    await lag.page.screenshot({ path: path.join(screenshots, 'lag-dashboard.png'), fullPage: true });

    await page.click('nav >> text=Jobs');
    await page.locator('tr[data-job-id] [data-status=canceled]').first().waitFor();
    expect(await page.locator('tr[data-job-id]').count()).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: path.join(screenshots, 'job-list.png') });

    await page.goto(`${base}/jobs/job/${jobId}/output`);
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.output-rows .row .text')).some((e) => e.textContent?.includes('PLAY RECAP')));
    // Every stored event's lines are on screen once, in order: compare with the API's stdout.
    const stdout = await page.evaluate(async (id: number) => (await fetch(`/api/v2/jobs/${id}/stdout/?format=txt_download`)).text(), jobId);
    const plain = stdout.replace(/\r/g, '').trimEnd().split('\n').map((l: string) => l.trimEnd());
    const shown = await page.$$eval('.output-rows .row .text', (rows) => rows.map((r) => (r.textContent ?? '').trimEnd()));
    expect(shown.slice(0, plain.length)).toEqual(plain);
  }, 180_000); // three jobs and a cancel, each waited for in a browser: ~45 s alone, more beside other files
});
