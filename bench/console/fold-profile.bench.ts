import type { Browser, Page } from 'playwright-core';
import { it } from 'vitest';
import { loginThroughForm, newPage } from '../../tests/console/support/browser.js';
import { storedJobConsole } from '../../tests/console/support/stored-job.js';

/**
 * Chromium traces of the first "Collapse plays" of a stored 1,000,000-line job (figures in
 * docs/console.md): (a) with the play index requested at the click, as the view did before
 * it read the index as the page opens (the request is held back until the click, then sent),
 * (b) as the view works now. Prints, for the click to the next frame: the time, the main
 * thread's tasks, script, layout, style and paint. A measurement, not a test:
 * `node scripts/build.mjs && npx vitest run --config bench/console/vitest.config.ts`.
 */
async function profile(browser: Browser, page: Page, label: string) {
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
  const r = await page.evaluate(async () => {
    performance.mark('click');
    const t0 = performance.now();
    (Array.from(document.querySelectorAll('.output-toolbar button')).find((b) => b.textContent === 'Collapse plays') as HTMLButtonElement).click();
    (window as any).clicked = true;
    while (Number((document.querySelector('.output') as HTMLElement).dataset.rows) > 1000) await new Promise((res) => setTimeout(res, 1));
    await new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
    const ms = performance.now() - t0;
    performance.mark('settled');
    const reqs = performance.getEntriesByType('resource').filter((e) => e.name.includes('event__in')).map((e) => ({ start: Math.round(e.startTime - t0), ms: Math.round(e.duration) }));
    return { ms, reqs };
  });
  const buf = await browser.stopTracing();
  const ev = (JSON.parse(buf.toString()) as { traceEvents: { name: string; ph: string; ts: number; dur?: number; cat: string }[] }).traceEvents;
  const marks = ev.filter((e) => e.cat.includes('blink.user_timing'));
  const from = marks.find((e) => e.name === 'click')?.ts ?? 0;
  const to = marks.find((e) => e.name === 'settled')?.ts ?? Infinity;
  const inWin = ev.filter((e) => e.ph === 'X' && e.ts >= from && e.ts <= to && e.dur);
  const sum = (names: string[]) => Math.round(inWin.filter((e) => names.includes(e.name)).reduce((n, e) => n + (e.dur ?? 0), 0)) / 1000;
  const tasks = inWin.filter((e) => e.name === 'RunTask').map((e) => Math.round(e.dur ?? 0) / 1000).sort((a, b) => b - a);
  console.log('PROFILE', label, JSON.stringify({ clickToNextFrameMs: Math.round(r.ms), traceWindowMs: Math.round((to - from) / 1000), playIndexRequests: r.reqs,
    mainThreadTasksMs: Math.round(tasks.reduce((a, b) => a + b, 0)), longestTasksMs: tasks.slice(0, 4),
    scriptMs: sum(['FunctionCall', 'EvaluateScript', 'V8.Execute', 'TimerFire', 'FireAnimationFrame']), layoutMs: sum(['Layout']), styleMs: sum(['UpdateLayoutTree']),
    paintMs: sum(['Paint']) }));
}

it('profiles the first fold', async () => {
  const { base, browser, job } = await storedJobConsole(1_000_000, 'pw-profile');
  for (const held of [true, false]) {
    const { page } = await newPage(browser);
    await loginThroughForm(page, base, 'admin', 'pw-profile', '/home');
    if (held) {
      await page.route((u) => u.search.includes('event__in=playbook_on_play_start'), async (route) => {
        // Held until the click: the request then leaves when the old code sent it.
        for (let i = 0; i < 6000 && !(await route.request().frame().evaluate(() => (window as any).clicked).catch(() => false)); i++) await new Promise((r) => setTimeout(r, 1));
        await route.continue();
      });
    }
    await page.goto(`${base}/jobs/job/${job.id}/output`);
    await page.locator('.output[data-ready="true"]').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => !document.querySelector('.output-rows .loading') && !!document.querySelector('.row[data-line="2"]'));
    await page.waitForTimeout(1500);
    await profile(browser, page, held ? 'index requested at the click (before the fix)' : 'index read as the page opened (now)');
    await page.close();
  }
}, 300_000);
