import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * One ansible-runner process and how it ends. The runner starts in its own process group
 * so stopping it stops ansible-playbook and every fork under it: SIGTERM to the group,
 * then SIGKILL after `killGraceMs` if anything is left (AWX gives the runner the same
 * chance to write its final events before it is forced).
 *
 * Outcomes: `exited` (the runner's own status from artifacts/<ident>/status: successful,
 * failed, ...), `canceled`, `timeout`, or `crashed` (the runner died without writing a
 * status: a Python traceback, a signal from outside, a missing binary).
 */
export type RunnerOutcome =
  | { kind: 'exited'; status: string; rc: number }
  | { kind: 'canceled' }
  | { kind: 'timeout' }
  | { kind: 'crashed'; rc: number | null; signal: string | null; stderr: string };

export interface RunnerHandle {
  pid: number;
  cancel(): void;
  done: Promise<RunnerOutcome>;
}

export interface RunnerOptions {
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  privateDataDir: string;
  ident: string;
  timeoutSeconds: number;
  killGraceMs?: number;
  onStdout(chunk: string): void;
}

export function startRunner(opts: RunnerOptions): RunnerHandle {
  const child = spawn('ansible-runner', opts.args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stopping: 'canceled' | 'timeout' | null = null;
  child.stdout.setEncoding('utf8').on('data', opts.onStdout);
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-20_000); });
  const grace = opts.killGraceMs ?? 5000;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'canceled' | 'timeout') => {
    if (stopping || child.exitCode !== null) return;
    stopping = why;
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), grace);
  };
  const timer = opts.timeoutSeconds > 0 ? setTimeout(() => stop('timeout'), opts.timeoutSeconds * 1000) : undefined;
  const done = new Promise<RunnerOutcome>((resolve) => {
    child.once('error', (err) => { stderr += String(err.stack ?? err); });
    child.once('close', (rc, signal) => {
      clearTimeout(timer);
      // Whatever the runner left in its group (a fork that ignored SIGTERM) goes now.
      signalGroup(child.pid, 'SIGKILL');
      clearTimeout(killTimer);
      if (stopping) { resolve({ kind: stopping }); return; }
      const status = readStatus(opts.privateDataDir, opts.ident);
      if (status && rc !== null) resolve({ kind: 'exited', status, rc });
      else resolve({ kind: 'crashed', rc, signal, stderr });
    });
  });
  return { pid: child.pid ?? -1, cancel: () => stop('canceled'), done };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try { process.kill(-pid, signal); } catch { /* group already gone */ }
}

function readStatus(dir: string, ident: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, 'artifacts', ident, 'status'), 'utf8').trim() || null;
  } catch {
    return null;
  }
}
