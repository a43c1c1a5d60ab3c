import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { publishBroadcast, statusChangedMessage } from '../../src/pipeline/broadcast.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { launchBrowser, loginThroughForm, newPage } from './support/browser.js';

const ADMIN_PASSWORD = 'console-admin-pw';
const WINDOW_S = 10;

/**
 * The lag dashboard shows current figures only: a running job's events (announced on the real
 * broadcast bus, through the real websocket server, with known created/modified stamps) move
 * the tiles; once the job has ended and the tiles' window has passed, they read "—" rather
 * than the last values seen. The picker names the job, and each tile states its window.
 */
describe('lag dashboard: figures over a window, "—" without data', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let jobId: number;
  beforeAll(async () => {
    env = await useTestEnv();
    await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: ADMIN_PASSWORD });
    const { rows: [job] } = await env.pool.query(
      `INSERT INTO unified_jobs (kind, name, status, started, launch_type) VALUES ('job', 'Nightly deploy', 'running', now(), 'manual') RETURNING id`);
    jobId = Number(job.id);
    base = (await startTestWeb(env)).url;
    browser = await launchBrowser();
  });

  async function announce(from: number, count: number): Promise<void> {
    const now = Date.now();
    // Stamped 40 ms before now, stored 25 ms after that: modified − created is 25 ms.
    const created = new Date(now - 40).toISOString();
    const modified = new Date(now - 15).toISOString();
    const messages = Array.from({ length: count }, (_, k) => {
      const c = from + k;
      return { id: c, type: 'job_event', job: jobId, event: 'runner_on_ok', counter: c, uuid: `u${c}`, stdout: `line ${c}`,
        start_line: c - 1, end_line: c, created, modified, group_name: 'job_events' };
    });
    await publishBroadcast(env.redis, redisKeys(env.config).broadcastChannel,
      { group: `job_events-${jobId}`, messages });
  }

  it('shows the job by name, figures while it runs, and "—" once it ended and the window passed', async () => {
    const { page } = await newPage(browser, { width: 1400, height: 1000 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, '/lag');
    // The picker names the running job.
    await page.locator('.page-head select option', { hasText: `Nightly deploy (#${jobId})` }).waitFor({ state: 'attached', timeout: 10_000 });
    // Each tile says its window and scope.
    expect(await page.textContent('[data-testid=delivered-p99] .tile-scope')).toContain(`last ${WINDOW_S} s`);
    expect(await page.textContent('[data-testid=stored-p99] .tile-scope')).toContain(`last ${WINDOW_S} s`);
    // Every tile states its window (or that it is a total since the page opened) and its scope.
    const scopes = await page.$$eval('.tile .tile-scope', (els) => els.map((e) => e.textContent ?? ''));
    expect(scopes.length).toBeGreaterThanOrEqual(8);
    for (const s of scopes) {
      expect(s).toMatch(new RegExp(`last ${WINDOW_S} s|since opened`));
      expect(s).toMatch(/ · /);
    }
    // Every chart carries a time axis, with clock times drawn under it.
    expect(await page.$$eval('.chart', (els) => els.length > 0 && els.every((e) => e.getAttribute('data-x-axis') === 'time'))).toBe(true);
    // A chart legend's figures are the latest point of the window, and say so.
    expect(await page.$$eval('.chart', (els) => els.every((e) => e.querySelector('.chart-scope')?.textContent === 'latest in last 10 s'))).toBe(true);
    await page.waitForTimeout(500);

    let counter = 1;
    const tile = (id: string) => page.textContent(`[data-testid=${id}] .tile-value`);
    for (let i = 0; i < 6; i++) { await announce(counter, 20); counter += 20; await page.waitForTimeout(250); }
    await page.waitForFunction(() => document.querySelector('[data-testid=stored-p99] .tile-value')?.textContent !== '—', undefined, { timeout: 5000 });
    expect(await tile('stored-p99')).toMatch(/^2\d(\.\d)? ms$/);
    expect(await tile('delivered-p99')).toMatch(/\d+(\.\d+)? (ms|s)$/);
    expect(await tile('delivered-p50')).not.toBe('—');

    // The job ends; nothing more arrives. Within the window the figures stay (they are data
    // of the last 10 s); once it has passed they are "—", not the last values seen.
    await publishBroadcast(env.redis, redisKeys(env.config).broadcastChannel, statusChangedMessage({ id: jobId, status: 'successful', kind: 'job' }));
    await env.pool.query(`UPDATE unified_jobs SET status = 'successful', finished = now() WHERE id = $1`, [jobId]);
    const ended = Date.now();
    await page.waitForFunction(() => ['delivered-p50', 'delivered-p99', 'stored-p99']
      .every((id) => document.querySelector(`[data-testid=${id}] .tile-value`)?.textContent === '—'), undefined, { timeout: (WINDOW_S + 10) * 1000 });
    // Not before the window passed: the figures were still data until then.
    expect(Date.now() - ended).toBeGreaterThan((WINDOW_S - 3) * 1000);
    // The count of events seen here is a total since the page opened, and says so.
    expect(await tile('events-here')).toBe('120');
    expect(await page.textContent('[data-testid=events-here] .tile-scope')).toContain('since opened');
    expect(errors).toEqual([]);
  }, 90_000);
});
