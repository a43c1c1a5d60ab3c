import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { onCleanup } from '../../support/harness.js';

/**
 * Debian's Chromium, headless, driven by playwright-core (never a downloaded browser).
 * `--enable-precise-memory-info` makes performance.memory exact, for the memory-bound test.
 */
export const CHROMIUM = process.env.PLAYSTREAM_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-precise-memory-info', '--disable-dev-shm-usage'],
  });
  onCleanup(() => browser.close());
  return browser;
}

export async function newPage(browser: Browser, viewport = { width: 1400, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (err) => { console.error('[browser]', err.message); });
  return { context, page };
}

/** Logs in through the console's own login form and waits for the shell. */
export async function loginThroughForm(page: Page, baseUrl: string, username: string, password: string, path = '/jobs'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=whoami]', { timeout: 30_000 });
  expect(await page.textContent('[data-testid=whoami]')).toContain(username);
}
