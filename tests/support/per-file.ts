import { afterAll } from 'vitest';
import { runCleanups } from './harness.js';

/**
 * Run before every test file (vitest `setupFiles`). A worker runs many files one after another
 * with its modules loaded once (isolate: false), so what one file leaves behind is undone here:
 * its cleanups (harness.ts onCleanup) run after it, and the environment it changed is put back
 * before the next.
 */
const globals = globalThis as { playstreamTestEnv?: NodeJS.ProcessEnv };
const baseline = (globals.playstreamTestEnv ??= { ...process.env });
for (const key of Object.keys(process.env)) if (!(key in baseline)) delete process.env[key];
Object.assign(process.env, baseline);

afterAll(runCleanups);
