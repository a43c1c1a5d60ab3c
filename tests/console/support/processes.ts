import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { seedFirstStart } from '../../../src/db/seed.js';
import { packageRoot } from '../../../src/paths.js';
import { onCleanup, type TestEnv, useTestEnv } from '../../support/harness.js';
import { startTestWeb } from '../../support/web.js';
import { launchBrowser } from './browser.js';

const LOG_TAIL_CHARS = 64 * 1024;
const logTails = new Map<string, string>();

/** The last 64 KB each child logged, for a failing test to print (CI keeps nothing else of them). */
export function childLogTails(): string {
  return [...logTails].map(([role, text]) => `--- ${role} (last ${LOG_TAIL_CHARS / 1024} KB) ---\n${text}`).join('\n');
}

/** `playstream dispatcher` / `receiver` as child processes of this test file (the built bundle), stopped after it. */
export function startChild(role: 'dispatcher' | 'receiver', env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/playstream.js'), role], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  logTails.set(role, '');
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    logTails.set(role, (logTails.get(role)! + d).slice(-LOG_TAIL_CHARS));
    if (process.env.PS_TEST_DEBUG) process.stderr.write(`[${role}] ${d}`);
  });
  onCleanup(() => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  }));
  return child;
}

/** Where a test's screenshots go: docs/screenshots/ with PLAYSTREAM_UPDATE_SCREENSHOTS=1, else the test's data dir (a plain run leaves docs alone). */
export function screenshotDir(dataDir: string): string {
  const dir = process.env.PLAYSTREAM_UPDATE_SCREENSHOTS === '1' ? path.join(packageRoot, 'docs', 'screenshots') : path.join(dataDir, 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The live stack the console's end-to-end tests start from: a seeded database, the web server
 * in this process, the receiver and dispatcher as child processes (jobs really run), Chromium,
 * and the screenshot directory.
 */
export async function startLiveConsole(adminPassword: string): Promise<{ env: TestEnv; base: string; browser: Browser; screenshots: string }> {
  const env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword });
  const base = (await startTestWeb(env)).url;
  startChild('receiver', env.env);
  startChild('dispatcher', env.env);
  return { env, base, browser: await launchBrowser(), screenshots: screenshotDir(env.dataDir) };
}
