import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll } from 'vitest';
import { packageRoot } from '../../../src/paths.js';

/** `playstream dispatcher` / `receiver` as child processes of this test file (the built bundle), stopped after it. */
export function startChild(role: 'dispatcher' | 'receiver', env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/playstream.js'), role], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (process.env.PS_TEST_DEBUG) process.stderr.write(`[${role}] ${d}`); });
  afterAll(() => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  }));
  return child;
}
