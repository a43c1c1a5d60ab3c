import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { freePort } from '../../src/services/free-port.js';

/** `playstream web` as a child process (the real bundle), with its stderr kept for assertions. */
export interface WebProcess {
  child: ChildProcess;
  port: number;
  url: string;
  stderr(): string;
  rssKb(): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startWebProcess(env: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): Promise<WebProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/playstream.js'), 'web'], {
    env: { ...env, ...extra, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web did not start: ${err}`)), 30_000);
    child.on('message', (m: { type?: string }) => { if (m?.type === 'ready') { clearTimeout(timer); resolve(); } });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`web exited ${code}: ${err}`)); });
  });
  return {
    child, port, url: `ws://127.0.0.1:${port}/websocket/`,
    stderr: () => err,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]),
    stop: (signal = 'SIGTERM') => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    }),
  };
}
