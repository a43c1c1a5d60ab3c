import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../../config.js';
import { BWRAP_PROGRAM, bwrapArgs, type SandboxBind } from './bwrap.js';
import { jobEnv, SANDBOX_PATH, taskEnvProblem } from './env.js';
import { hostLayout, isUnder } from './host-layout.js';
import { parseShowPaths } from './show-paths.js';

/**
 * One job's sandbox: what its processes see and the environment they get. Every program a
 * job starts goes through `command()` (ansible-runner for jobs and ad hoc commands; git for
 * project updates; ansible-inventory for inventory updates), so none of them can read the
 * controller's files, variables or processes:
 *   its private data dir  <dataDir>/jobs/<id>, read-write, with HOME inside it;
 *   `writable`            a project update's checkout;
 *   `readonly`            a job's or inventory update's project checkout, a project update's
 *                         local (file://) repository;
 *   AWX_ISOLATION_SHOW_PATHS, what a superuser chose to show (show-paths.ts).
 * Its environment carries the AWX_TASK_ENV setting (env.ts).
 * With PLAYSTREAM_JOB_SANDBOX=off the same programs run unwrapped with the same allowlisted
 * environment (the controller's PATH instead of the fixed one).
 */
export interface SandboxPaths {
  privateDir: string;
  writable?: string[];
  readonly?: string[];
}

export interface SandboxCommand {
  file: string;
  args: string[];
  /** The descriptor (3) on which bwrap reports the program's host pid, when asked for. */
  infoFd?: number;
}

export class JobSandbox {
  readonly enabled: boolean;
  readonly home: string;
  readonly #dataDir: string;
  readonly #binds: SandboxBind[];
  readonly #path: string;
  readonly #taskEnv: Record<string, string>;

  private constructor(enabled: boolean, dataDir: string, home: string, binds: SandboxBind[], shown: SandboxBind[], taskEnv: Record<string, string>) {
    this.enabled = enabled;
    this.#taskEnv = taskEnv;
    this.#dataDir = dataDir;
    this.home = home;
    this.#binds = [...binds, ...shown];
    // Tools a superuser showed (a virtualenv's bin) stay on PATH, ahead of the system's.
    const controllerPath = (process.env.PATH ?? '').split(':').filter(Boolean);
    this.#path = enabled
      ? [...controllerPath.flatMap((dir) => {
        const bind = shown.find((b) => isUnder(dir, b.src));
        return bind ? [path.join(bind.dest, path.relative(bind.src, dir))] : [];
      }), SANDBOX_PATH].join(':')
      : process.env.PATH || SANDBOX_PATH;
  }

  static async open(db: Pick<pg.Pool, 'query'>, config: Pick<Config, 'jobSandbox' | 'dataDir'>, paths: SandboxPaths): Promise<JobSandbox> {
    const enabled = config.jobSandbox === 'bubblewrap';
    const home = path.join(paths.privateDir, 'home');
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    const { rows } = await db.query<{ key: string; value: unknown }>(
      `SELECT key, value FROM api_settings WHERE key IN ('AWX_ISOLATION_SHOW_PATHS', 'AWX_TASK_ENV')`);
    const setting = (key: string) => rows.find((r) => r.key === key)?.value;
    const shown: SandboxBind[] = enabled ? parseShowPaths(setting('AWX_ISOLATION_SHOW_PATHS'), config.dataDir) : [];
    const taskEnv = setting('AWX_TASK_ENV');
    const binds: SandboxBind[] = [
      { src: paths.privateDir, dest: paths.privateDir, writable: true },
      ...(paths.writable ?? []).map((p) => ({ src: p, dest: p, writable: true })),
      ...(paths.readonly ?? []).map((p) => ({ src: p, dest: p, writable: false })),
    ];
    return new JobSandbox(enabled, config.dataDir, home, binds, shown, taskEnvProblem(taskEnv) ? {} : taskEnv as Record<string, string>);
  }

  /** The environment for a program of this job (sandbox/env.ts). */
  env(parts: { injected?: Record<string, string>; set?: Record<string, string> } = {}): Record<string, string> {
    return jobEnv({ path: this.#path, home: this.home, taskEnv: this.#taskEnv, ...parts });
  }

  /**
   * How to start `program args` in this sandbox with working directory `cwd`. `reportPid`
   * asks bwrap for the program's host pid on descriptor 3 (the runner, whose cancel must
   * reach it and not bwrap) and keeps the session it was spawned in (a detached one).
   */
  command(program: string, args: string[], opts: { cwd: string; reportPid?: boolean }): SandboxCommand {
    if (!this.enabled) return { file: program, args };
    const infoFd = opts.reportPid ? 3 : undefined;
    return {
      file: BWRAP_PROGRAM,
      args: bwrapArgs(hostLayout(), { hidden: [this.#dataDir], binds: this.#binds }, [program, ...args],
        { cwd: opts.cwd, newSession: !opts.reportPid, infoFd }),
      infoFd,
    };
  }
}
