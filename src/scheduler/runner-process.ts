import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BWRAP_PROGRAM } from './sandbox/bwrap.js';
import type { SandboxCommand } from './sandbox/job-sandbox.js';

/**
 * One ansible-runner process and how it ends. The runner is `ansible-runner worker
 * --private-data-dir <dir>`: it reads its job (the `kwargs` line) from stdin and answers in
 * the streaming worker protocol on stdout (runner-stream.ts reads it). It starts in its own
 * process group so stopping it stops ansible-playbook and every fork under it: SIGTERM to
 * the group, then SIGKILL after `killGraceMs` if anything is left (AWX gives the runner the
 * same chance to write its final events before it is forced).
 *
 * In the job sandbox the process spawned is bwrap, with the runner as pid 1 of its pid
 * namespace (sandbox/bwrap.ts): bwrap reports the runner's host pid on descriptor 3, and the
 * first SIGTERM goes to the runner alone, since bwrap forwards no signal and would take the
 * runner down at once; the SIGKILL that follows goes to the group as before, and with bwrap
 * the whole namespace ends.
 *
 * Outcomes: `exited` (the runner's own status and rc from artifacts/<ident>/: successful,
 * failed, ...), `canceled`, `timeout`, or `crashed` (the runner died without writing a
 * status: a Python traceback, a signal from outside, a program that is not installed, a
 * sandbox that could not be set up).
 */
export type RunnerOutcome =
  | { kind: 'exited'; status: string; rc: number }
  | { kind: 'canceled' }
  | { kind: 'timeout' }
  | { kind: 'crashed'; rc: number | null; signal: string | null; stderr: string; missingProgram?: string; sandboxError?: string };

export interface RunnerHandle {
  pid: number;
  cancel(): void;
  done: Promise<RunnerOutcome>;
}

export interface RunnerOptions {
  /** What the worker runs: playbook or module/module_args/host_pattern, ident, ... (interface.run's arguments). */
  kwargs: Record<string, unknown>;
  /** What to spawn: the runner itself, or bwrap around it (JobSandbox.command with reportPid). */
  command: SandboxCommand;
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
  const { command } = opts;
  const child = spawn(command.file, command.args, { cwd: opts.privateDataDir, env: opts.env, detached: true,
    stdio: command.infoFd === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'] });
  let runnerPid: number | null = null;
  if (command.infoFd !== undefined) {
    let info = '';
    (child.stdio[command.infoFd] as Readable).setEncoding('utf8')
      .on('data', (d: string) => {
        info += d;
        runnerPid ??= Number(/"child-pid"\s*:\s*(\d+)/.exec(info)?.[1]) || null;
      });
  }
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
    if (command.infoFd === undefined) signalGroup(child.pid, 'SIGTERM');
    else if (runnerPid) signalPid(runnerPid, 'SIGTERM');
    else signalGroup(child.pid, 'SIGKILL');
    killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), grace);
  };
  const timer = opts.timeoutSeconds > 0 ? setTimeout(() => stop('timeout'), opts.timeoutSeconds * 1000) : undefined;
  const done = new Promise<RunnerOutcome>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') missingProgram = command.file;
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
      if (status && rc !== null && Number.isInteger(runnerRc)) { resolve({ kind: 'exited', status, rc: runnerRc }); return; }
      // bwrap's own messages start with "bwrap: "; its exec of the runner failing is a missing runner.
      const bwrapLine = command.file === BWRAP_PROGRAM ? /^bwrap: (.*)$/m.exec(stderr)?.[1] : undefined;
      if (bwrapLine && /^execvp \S+: No such file or directory/.test(bwrapLine)) missingProgram ??= RUNNER_PROGRAM;
      resolve({ kind: 'crashed', rc, signal, stderr, missingProgram, sandboxError: missingProgram ? undefined : bwrapLine });
    });
  });
  return { pid: child.pid ?? -1, cancel: () => stop('canceled'), done };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try { process.kill(-pid, signal); } catch { /* group already gone */ }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(pid, signal); } catch { /* already gone */ }
}

function readArtifact(dir: string, ident: string, name: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, 'artifacts', ident, name), 'utf8').trim() || null;
  } catch {
    return null;
  }
}
