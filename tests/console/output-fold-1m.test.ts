import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loginThroughForm, newPage } from './support/browser.js';
import { storedJobConsole, type StoredJob } from './support/stored-job.js';

const ADMIN_PASSWORD = 'console-admin-pw';
const LINES = 1_000_000;

/**
 * Clicks a toolbar button and measures, in the page, the time from the click to the end of
 * the next frame (requestAnimationFrame, then a task so the frame's paint is included), and
 * whether the rows had settled by then (the expected row count, no row loading): folding
 * all plays is a render, never a wait on the network. A requestAnimationFrame loop records
 * the longest gap between frames over the following 300 ms: a frozen tab shows as one long gap.
 */
async function timedClick(page: Page, label: string, rowsSrc: string) {
  return page.evaluate(async ({ label, rowsSrc }) => {
    const accept = new Function('n', `return (${rowsSrc})(n)`) as (n: number) => boolean;
    const out = document.querySelector('.output') as HTMLElement;
    const button = Array.from(document.querySelectorAll('.output-toolbar button')).find((b) => b.textContent === label) as HTMLButtonElement;
    let frames = 0;
    let longestGap = 0;
    let last = performance.now();
    let ticking = true;
    const tick = () => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      frames++;
      if (ticking) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const t0 = performance.now();
    button.click();
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const ms = performance.now() - t0;
    const settled = accept(Number(out.dataset.rows)) && !!document.querySelector('.output-rows .row') && !document.querySelector('.output-rows .loading');
    await new Promise((r) => setTimeout(r, 300));
    ticking = false;
    return { ms, settled, frames, longestGap, rows: Number(out.dataset.rows) };
  }, { label, rowsSrc });
}

describe('folding a stored 1,000,000-line job', () => {
  let base: string;
  let browser: Browser;
  let job: StoredJob;
  beforeAll(async () => {
    ({ base, browser, job } = await storedJobConsole(LINES, ADMIN_PASSWORD));
  }, 120_000);

  it('collapses and expands all plays without walking or fetching the hidden lines', async () => {
    const { context, page } = await newPage(browser);
    await loginThroughForm(page, base, 'admin', ADMIN_PASSWORD, `/jobs/job/${job.id}/output`);
    // From here on (the login page's 401 for /me/ before signing in is expected): no error.
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
    await page.locator('.output[data-ready="true"]').waitFor({ timeout: 20_000 });
    // The play index is read as the page opens, beside the first lines and the tail.
    await page.locator('.output[data-plays-complete="true"]').waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => !document.querySelector('.output-rows .loading') && !!document.querySelector('.row[data-line="2"]'));
    expect(await page.locator('.output').getAttribute('data-rows')).toBe(String(LINES));
    const readsBefore = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/job_events/')).length);

    const figures = [];
    for (let round = 0; round < 2; round++) {
      // Folded, the job shows the play's two lines and the recap: the ~1M task lines are hidden.
      const fold = await timedClick(page, 'Collapse plays', '(n) => n < 1000');
      const unfold = await timedClick(page, 'Expand all', '(n) => n === 1000000');
      figures.push({ fold, unfold });
      console.log(`round ${round}`, JSON.stringify({ fold, unfold }));
      expect(fold.rows).toBeLessThan(1000);
      expect(unfold.rows).toBe(LINES);
      // The bound: each fold and unfold shows on the next frame, under 200 ms from
      // the click, and frames keep coming (figures in docs/console.md).
      for (const f of [fold, unfold]) {
        expect(f.settled).toBe(true);
        expect(f.ms).toBeLessThan(200);
        // Frames kept coming: the freeze this replaces was one 44 s gap. Looser than the
        // fold's own bound, since on this shared machine other processes take the cores too.
        expect(f.longestGap).toBeLessThan(500);
        expect(f.frames).toBeGreaterThan(5);
      }
    }
    console.log('fold/unfold of all plays, 1,000,000 lines', JSON.stringify(figures));
    console.log('event reads', await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/job_events/'))
      .map((e) => `${e.name.replace(location.origin, '')} ${Math.round(e.duration)} ms`)));

    // Folding one task (line 4, "TASK [task 0]") of the million lines: its end is one
    // header query away, and its 100 hidden lines (5-104) are skipped without being walked.
    const task = await page.evaluate(async () => {
      const t0 = performance.now();
      (document.querySelector('.row[data-line="4"] button.fold') as HTMLButtonElement).click();
      while (document.querySelector('.row[data-line="4"]')?.nextElementSibling?.getAttribute('data-line') !== '105') {
        if (performance.now() - t0 > 30_000) throw new Error('task did not fold');
        await new Promise((r) => setTimeout(r, 2));
      }
      const ms = performance.now() - t0;
      return { ms, rows: Number((document.querySelector('.output') as HTMLElement).dataset.rows) };
    });
    console.log('fold one task, 1,000,000 lines', JSON.stringify(task));
    // The fold shows at once (the next task's header is in the loaded segment); the query
    // that makes its end exact may still be on its way on a loaded machine.
    await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.includes('event__in') && e.name.includes('page_size=1')));
    expect(task.rows).toBe(LINES - 100);
    expect(task.ms).toBeLessThan(2000);
    await page.click('.row[data-line="4"] button.fold');
    await page.waitForFunction(() => document.querySelector('.row[data-line="4"]')?.nextElementSibling?.getAttribute('data-line') === '5');

    // Folded: the play's header then the recap, which names its hosts; the task lines are gone.
    await timedClick(page, 'Collapse plays', '(n) => n < 1000');
    const shown = await page.evaluate(() => Array.from(document.querySelectorAll('.output-rows .row')).slice(0, 4).map((r) => [r.getAttribute('data-line'), r.querySelector('.text')?.textContent]));
    expect(shown[1]).toEqual(['2', expect.stringContaining('PLAY [Big play]')]);
    expect(shown[2]?.[1]).toContain('PLAY RECAP');
    expect(shown[3]?.[1]).toMatch(/host-0 : ok=/);
    // The hidden range was never fetched: a handful of requests (the play index, the recap's segment).
    const reads = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/job_events/')).map((e) => e.name));
    expect(reads.length - readsBefore).toBeLessThan(10);
    // The play index was read once, as the page opened (every "Collapse plays" used it); the task's end took one header query.
    expect(reads.filter((r) => r.includes('event__in=playbook_on_play_start%2Cplaybook_on_stats'))).toHaveLength(1);
    expect(reads.filter((r) => r.includes('event__in') && r.includes('page_size=1'))).toHaveLength(1);
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});
