import { log } from '../log.js';
import { createRuntime } from '../runtime.js';
import { runUnifiedJob } from './run-unified-job.js';
import type { DispatcherTask } from './task-queue.js';

/**
 * `playstream dispatcher --worker`: one dispatcher worker process, forked by the pool. It
 * runs the tasks its parent sends, one at a time, and stops the running job's runner when
 * told to cancel. When its parent goes away (the IPC channel closes, e.g. the dispatcher
 * was SIGKILLed) it kills its runners and exits: the node's jobs are then reaped by a peer
 * or by this node's next start.
 */
export async function runDispatcherWorker(): Promise<void> {
  const rt = await createRuntime('dispatcher-worker', { poolSize: 3 });
  const cancels = new Map<number, () => void>();
  rt.onShutdown(() => { for (const stop of cancels.values()) stop(); });
  const ctx = {
    pool: rt.pool, redis: rt.redis, config: rt.config, secrets: rt.secrets,
    onCancel(jobId: number, stop: () => void) {
      cancels.set(jobId, stop);
      return () => cancels.delete(jobId);
    },
  };
  const tasks: Record<string, (args: Record<string, unknown>) => Promise<void>> = {
    run_unified_job: (args) => runUnifiedJob(ctx, Number(args.job_id)),
  };
  process.on('message', (msg: { type: string; task?: DispatcherTask; jobId?: number }) => {
    if (msg.type === 'cancel' && msg.jobId !== undefined) { cancels.get(msg.jobId)?.(); return; }
    if (msg.type !== 'task' || !msg.task) return;
    const task = msg.task;
    const fn = tasks[task.name];
    const run = fn ? fn(task.args) : Promise.reject(new Error(`unknown task ${task.name}`));
    run.catch((err) => log.error('task failed', { task: task.name, uuid: task.uuid, err: (err as Error).stack ?? err }))
      .finally(() => process.send?.({ type: 'done', uuid: task.uuid }));
  });
}
