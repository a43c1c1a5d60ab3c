import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { publishBroadcast, statusChangedMessage } from '../../src/pipeline/broadcast.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { launchBrowser, loginThroughForm, newPage } from './support/browser.js';

const ADMIN_PASSWORD = 'console-admin-pw';

/**
 * The seam between stored and live output, driven precisely: a running job's rows are
 * written to Postgres and announced on the real broadcast bus (through the real websocket
 * server) in a hostile order — duplicates of stored events, a batch lost (never announced),
 * batches out of order. The view must show every line exactly once, in order.
 */
describe('live output: no gap, no duplicate', () => {
  let env: TestEnv;
  let base: string;
  let browser: Browser;
  let jobId: number;
  let created: string;
  beforeAll(async () => {
    env = await useTestEnv();
    await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword: ADMIN_PASSWORD });
    const { rows: [job] } = await env.pool.query(
      `INSERT INTO unified_jobs (kind, name, status, started, launch_type) VALUES ('job', 'Seam', 'running', now(), 'manual')
       RETURNING id, created::text AS created`);
    jobId = Number(job.id);
    created = job.created;
    await env.pool.query('SELECT ensure_event_partitions($1)', [created]);
    await store(1, 300);
    base = (await startTestWeb(env)).url;
    browser = await launchBrowser();
  });

  /** Rows for counters [from, to], one line each: `line N` on line N - 1. */
  async function store(from: number, to: number): Promise<void> {
    await env.pool.query(`INSERT INTO job_events (created, modified, job_created, job_id, event, counter, uuid, stdout, start_line, end_line)
      SELECT now(), now(), $1, $2, 'runner_on_ok', c, 'u' || c, 'line ' || c, c - 1, c FROM generate_series($3::int, $4::int) AS c`,
    [created, jobId, from, to]);
  }

  async function announce(counters: number[]): Promise<void> {
    const now = new Date().toISOString();
    const messages = counters.map((c) => ({ id: c, type: 'job_event', job: jobId, event: 'runner_on_ok', counter: c, uuid: `u${c}`,
      stdout: `line ${c}`, start_line: c - 1, end_line: c, created: now, modified: now, group_name: 'job_events' }));
    await publishBroadcast(env.redis, redisKeys(env.config).broadcastChannel,
      { group: `job_events-${jobId}`, messages });
  }

  it('shows stored then live lines exactly once, filling a lost batch over REST', async () => {
    const { page } = await newPage(browser, { width: 1200, height: 800 });
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, `/jobs/job/${jobId}/output`);
    await page.waitForSelector('.row[data-line="300"] .text:has-text("line 300")');
    expect(await page.locator('button:has-text("Following")').count()).toBe(1);
    // Give the websocket subscription a moment to be in place.
    await page.waitForTimeout(300);

    await store(301, 400);
    await announce(range(280, 340)); // overlaps the stored tail: 280..300 are duplicates
    await announce(range(371, 400)); // arrives before 341..370
    await announce(range(341, 370));
    await store(401, 500);
    await announce(range(451, 500)); // 401..450 are stored but never announced: a lost batch

    await page.waitForSelector('.row[data-line="500"] .text:has-text("line 500")', { timeout: 10_000 });
    const out = page.locator('.output');
    await page.waitForFunction(() => Number(document.querySelector('.output')?.getAttribute('data-high-water')) === 500);
    expect(Number(await out.getAttribute('data-duplicates'))).toBeGreaterThanOrEqual(21);
    expect(await out.getAttribute('data-total-lines')).toBe('500');

    // Following the tail: the last line is on screen without scrolling by hand.
    const lastVisible = await page.evaluate(() => {
      const s = document.querySelector('.output-scroll')!;
      return s.scrollTop + s.clientHeight >= s.scrollHeight - 2;
    });
    expect(lastVisible).toBe(true);

    await env.pool.query(`UPDATE unified_jobs SET status = 'successful', finished = now() WHERE id = $1`, [jobId]);
    await publishBroadcast(env.redis, redisKeys(env.config).broadcastChannel, statusChangedMessage({ id: jobId, status: 'successful', kind: 'job' }));
    await page.waitForSelector('.page-head [data-status=successful]');

    // Every line once and in order: walk the output top to bottom, a screen at a time.
    const seen: string[] = [];
    await page.click('button:has-text("Top")');
    for (let guard = 0; guard < 100; guard++) {
      await page.waitForFunction(() => !document.querySelector('.output-rows .loading'));
      const rows = await page.$$eval('.output-rows .row', (els) => els.map((e) => [e.getAttribute('data-line'), e.querySelector('.text')!.textContent] as const));
      for (const [n, text] of rows) if (Number(n) === seen.length + 1) seen.push(text ?? '');
      if (seen.length >= 500) break;
      await page.evaluate(() => { const s = document.querySelector('.output-scroll')!; s.scrollTop += s.clientHeight; });
      await page.waitForTimeout(30);
    }
    expect(seen).toEqual(range(1, 500).map((c) => `line ${c}`));
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
