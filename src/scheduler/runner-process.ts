import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * One ansible-runner process and how it ends. The runner is `ansible-runner worker
 * --private-data-dir <dir>`: it reads its job (the `kwargs` line) from stdin and answers in
 * the streaming worker protocol on stdout (runner-stream.ts reads it). It starts in its own
 * process group so stopping it stops ansible-playbook and every fork under it: SIGTERM to
 * the group, then SIGKILL after `killGraceMs` if anything is left (AWX gives the runner the
 * same chance to write its final events before it is forced).
 *
 * Outcomes: `exited` (the runner's own status and rc from artifacts/<ident>/: successful,
 * failed, ...), `canceled`, `timeout`, or `crashed` (the runner died without writing a
 * status: a Python traceback, a signal from outside, a program that is not installed).
 */
export type RunnerOutcome =
  | { kind: 'exited'; status: string; rc: number }
  | { kind: 'canceled' }
  | { kind: 'timeout' }
  | { kind: 'crashed'; rc: number | null; signal: string | null; stderr: string; missingProgram?: string };

export interface RunnerHandle {
  pid: number;
  cancel(): void;
  done: Promise<RunnerOutcome>;
}

export interface RunnerOptions {
  /** What the worker runs: playbook or module/module_args/host_pattern, ident, ... (interface.run's arguments). */
  kwargs: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  privateDataDir: string;
  ident: string;
  timeoutSeconds: number;
  killGraceMs?: number;
  onStdout(chunk: string): void;
}

export const RUNNER_PROGRAM = 'ansible-runner';

export function runnerArgs(privateDataDir: string): string[] {
  return ['worker', '--private-data-dir', privateDataDir];
}

export function startRunner(opts: RunnerOptions): RunnerHandle {
  const child = spawn(RUNNER_PROGRAM, runnerArgs(opts.privateDataDir),
    { cwd: opts.privateDataDir, env: opts.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let missingProgram: string | undefined;
  let stopping: 'canceled' | 'timeout' | null = null;
  child.stdin.on('error', () => { /* the runner went away before reading its job: its outcome says why */ });
  child.stdin.end(`${JSON.stringify({ kwargs: opts.kwargs })}\n{"eof": true}\n`);
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
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') missingProgram = RUNNER_PROGRAM;
      stderr += String(err.stack ?? err);
    });
    child.once('close', (rc, signal) => {
      clearTimeout(timer);
      // Whatever the runner left in its group (a fork that ignored SIGTERM) goes now.
      signalGroup(child.pid, 'SIGKILL');
      clearTimeout(killTimer);
      if (stopping) { resolve({ kind: stopping }); return; }
      const status = readArtifact(opts.privateDataDir, opts.ident, 'status');
      const runnerRc = Number(readArtifact(opts.privateDataDir, opts.ident, 'rc') ?? rc);
      if (status && rc !== null && Number.isInteger(runnerRc)) resolve({ kind: 'exited', status, rc: runnerRc });
      else resolve({ kind: 'crashed', rc, signal, stderr, missingProgram });
    });
  });
  return { pid: child.pid ?? -1, cancel: () => stop('canceled'), done };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try { process.kill(-pid, signal); } catch { /* group already gone */ }
}

function readArtifact(dir: string, ident: string, name: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, 'artifacts', ident, name), 'utf8').trim() || null;
  } catch {
    return null;
  }
}
