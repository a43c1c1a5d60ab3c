import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import { runningCliEntry } from '../paths.js';
import { log } from '../log.js';
import type { DispatcherTask } from './task-queue.js';

/**
 * The dispatcher's pool of worker processes (AWX's autoscaling pool, simplified): workers
 * are forked on demand up to `max` (sized from the node's capacity by the caller), each runs
 * one task at a time, and an idle worker beyond `min` retires after IDLE_MS. `reload()`
 * recycles every worker after its current task (AWX's `--reload`). Messages over IPC:
 *   parent → worker  {type: 'task', task} | {type: 'cancel', jobId}
 *   worker → parent  {type: 'done', uuid} | {type: 'ready'}
 * A worker that dies mid-task is replaced; the job it ran is left to the reaper/orphan check.
 *
 * Workers are forked from `entry`, the bundle the dispatcher itself runs (runningCliEntry()),
 * not from whatever dist/cli.js holds when the fork happens: a rebuild of dist/ while a
 * node runs (an upgrade, or another test run in the same tree) must not mix two versions
 * of the IPC protocol and task code in one node.
 */
const IDLE_MS = 60_000;

interface Worker {
  child: ChildProcess;
  task: (DispatcherTask & { started: string }) | null;
  recycle: boolean;
  idleSince: number;
}

export interface WorkerStatus { pid: number; rss: number; task: (DispatcherTask & { started: string }) | null }

export class WorkerPool {
  readonly #workers = new Set<Worker>();
  readonly #min: number;
  readonly #max: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #entry: string;
  readonly #onIdle: () => void;
  #closed = false;
  readonly #reaper: NodeJS.Timeout;

  constructor(opts: { min: number; max: number; env?: NodeJS.ProcessEnv; entry?: string; onIdle: () => void }) {
    this.#min = opts.min;
    this.#max = opts.max;
    this.#env = opts.env ?? process.env;
    this.#entry = opts.entry ?? runningCliEntry();
    this.#onIdle = opts.onIdle;
    this.#reaper = setInterval(() => this.#retireIdle(), 10_000);
    this.#reaper.unref();
  }

  get max(): number { return this.#max; }

  /** How many more tasks the pool can take right now. */
  get free(): number {
    let busy = 0;
    for (const w of this.#workers) if (w.task) busy++;
    return this.#closed ? 0 : this.#max - busy;
  }

  dispatch(task: DispatcherTask): void {
    let worker = [...this.#workers].find((w) => !w.task && !w.recycle && w.child.connected);
    if (!worker) worker = this.#spawn();
    worker.task = { ...task, started: new Date().toISOString() };
    worker.child.send({ type: 'task', task });
  }

  cancelJob(jobId: number): boolean {
    for (const w of this.#workers) {
      if (w.task?.name === 'run_unified_job' && Number(w.task.args.job_id) === jobId && w.child.connected) {
        w.child.send({ type: 'cancel', jobId });
        return true;
      }
    }
    return false;
  }

  findTask(uuid: string): DispatcherTask | null {
    for (const w of this.#workers) if (w.task?.uuid === uuid) return w.task;
    return null;
  }

  status(): WorkerStatus[] {
    return [...this.#workers].map((w) => ({ pid: w.child.pid ?? -1, rss: rssOf(w.child.pid), task: w.task }));
  }

  reload(): void {
    for (const w of this.#workers) {
      w.recycle = true;
      if (!w.task) w.child.disconnect();
    }
  }

  #spawn(): Worker {
    const child = fork(this.#entry, ['dispatcher', '--worker'], { env: this.#env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker: Worker = { child, task: null, recycle: false, idleSince: Date.now() };
    this.#workers.add(worker);
    child.on('message', (msg: { type: string; uuid?: string }) => {
      if (msg.type !== 'done') return;
      worker.task = null;
      worker.idleSince = Date.now();
      if (worker.recycle && child.connected) child.disconnect();
      this.#onIdle();
    });
    child.once('exit', (code, signal) => {
      this.#workers.delete(worker);
      if (worker.task) log.error('dispatcher worker died mid-task', { pid: child.pid, code, signal, task: worker.task.uuid });
      if (!this.#closed) this.#onIdle();
    });
    return worker;
  }

  #retireIdle(): void {
    let idle = [...this.#workers].filter((w) => !w.task);
    while (this.#workers.size > this.#min && idle.length) {
      const w = idle.shift()!;
      if (Date.now() - w.idleSince < IDLE_MS) continue;
      this.#workers.delete(w);
      w.child.disconnect();
    }
    idle = [];
  }

  /** Stops every worker: idle ones at once; busy ones are told to stop (their runners are killed). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#reaper);
    const exits = [...this.#workers].map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null) { resolve(); return; }
      w.child.once('exit', () => resolve());
      w.child.kill('SIGTERM');
      setTimeout(() => { w.child.kill('SIGKILL'); resolve(); }, 10_000).unref();
    }));
    await Promise.all(exits);
  }
}

function rssOf(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
