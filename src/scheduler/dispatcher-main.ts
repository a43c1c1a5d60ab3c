import os from 'node:os';
import type pg from 'pg';
import { loadConfig } from '../config.js';
import { indexEventSearch } from '../db/event-search-index.js';
import { listen } from '../db/listen.js';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { createRuntime, reportReady } from '../runtime.js';
import { describeMissingBinaries, executionBinaries, installMissing, missingExecutionBinaries, projectSourceBinaries } from '../services/system-packages.js';
import { BackgroundLoop } from './background-loop.js';
import { instanceCapacity } from './capacity.js';
import { heartbeat, reapLostInstances, releaseNode } from './cluster.js';
import { CONTROL_COMMANDS, controlChannel, sendControl, type ControlCommand } from './control.js';
import { sendDueNotifications } from './notifications.js';
import { runDueSchedules } from './schedules.js';
import { STARTUP_REAPED_EXPLANATION, type StatusBus, TASK_MANAGER_CHANNEL } from './job-states.js';
import { CANCEL_CHANNEL, cancelUnifiedJob } from './submit.js';
import { claimTasks, dispatchChannel } from './task-queue.js';
import { runTaskManagerPass } from './task-manager.js';
import { WorkerPool } from './worker-pool.js';
import { runDispatcherWorker } from './worker-main.js';

/**
 * `playstream dispatcher [--worker | --status | --running | --reload | --cancel <uuid>]`.
 *
 * The dispatcher process of a node: registers the instance and heartbeats, releases its own
 * work left by a previous process on start (cluster.ts releaseNode) and lost peers' work
 * afterwards, runs the task manager (woken by NOTIFY, every TASK_MANAGER_MS otherwise),
 * claims this node's tasks for its worker pool, fires due schedules and sends due
 * notifications. Which of these it does follows the node's type (PLAYSTREAM_NODE_TYPE):
 * an `execution` node only heartbeats and runs jobs; a `control` node does everything but
 * run jobs (no worker pool, no claims); a `hybrid` node does both. Every loop is a BackgroundLoop (backoff
 * with jitter); the LISTEN connection reconnects the same way; NOTIFY only shortens waits.
 *
 * Before its first heartbeat it installs the programs jobs run (executionBinaries) where it
 * may; what is still missing is said once here and then carried by every heartbeat as the
 * instance's `errors`, with capacity 0, until it is found (checked again at each heartbeat).
 * Under `start` the supervisor has installed them already and its children never run
 * apt-get (PLAYSTREAM_AUTO_INSTALL=false in their environment).
 */
const TASK_MANAGER_MS = 5000;
const CLAIM_POLL_MS = 2000;
const SCHEDULE_MS = 1000;
const NOTIFY_SEND_MS = 2000;
/** How often partitions are looked at for a stdout index (event-search-index.ts): an hour's partition is ready at most once an hour. */
const SEARCH_INDEX_MS = 5 * 60_000;

export async function runDispatcher(args: string[] = []): Promise<void> {
  if (args.includes('--worker')) return runDispatcherWorker();
  const command = CONTROL_COMMANDS.find((c) => args.includes(`--${c}`));
  if (command) return runControl(command, args);
  const rt = await createRuntime('dispatcher');
  const node = rt.config.nodeName;
  const bus: StatusBus = { redis: rt.redis, config: rt.config };

  const role = rt.config.nodeType;
  const runsJobs = role !== 'control';
  const manages = role !== 'execution';
  if (runsJobs) installMissing([...Object.values(executionBinaries), ...Object.values(projectSourceBinaries)], { autoInstall: rt.config.autoInstall });
  if (runsJobs && rt.config.jobSandbox === 'off') log.warn('PLAYSTREAM_JOB_SANDBOX=off: JOBS RUN UNSEALED, as this user, with the data dir, the secret key, the database files and every other job in view; for a trusted single-user install only');
  const nodeErrors = () => (runsJobs ? executionErrors(rt.config.jobSandbox !== 'off') : '');
  let errors = nodeErrors();
  if (errors) log.warn(`this node cannot run jobs until programs are installed; it registers with capacity 0`, { errors });
  await heartbeat(rt.pool, node, { errors, nodeType: role });
  const own = await releaseNode(rt.pool, bus, node, STARTUP_REAPED_EXPLANATION);
  if (own.reaped.length || own.replaced.length) log.warn('released own work left by a previous process', own);

  const cap = instanceCapacity(os.cpus().length, os.totalmem());
  const maxWorkers = runsJobs ? rt.config.dispatcherWorkers || Math.max(4, Math.min(cap.capacity, cap.cpuCapacity * 2)) : 0;
  const pool = new WorkerPool({ min: runsJobs ? 1 : 0, max: maxWorkers, onIdle: () => claim.wake() });

  const claim = new BackgroundLoop('task claim', CLAIM_POLL_MS, async () => {
    for (const task of await claimTasks(rt.pool, node, pool.free)) pool.dispatch(task);
    const { rows } = await rt.pool.query<{ id: number }>(
      `SELECT id FROM unified_jobs WHERE cancel_flag AND status = 'running' AND execution_node = $1`, [node]);
    for (const r of rows) pool.cancelJob(r.id);
  });
  const taskManager = new BackgroundLoop('task manager', TASK_MANAGER_MS,
    () => runTaskManagerPass(rt.pool, { bus, heartbeatTolerance: rt.config.heartbeatTolerance }));
  // Only a node that runs the task manager starts it: a wake-up would run a pass anyway (BackgroundLoop).
  const wakeTaskManager = () => { if (manages) taskManager.wake(); };
  const cluster = new BackgroundLoop('heartbeat', rt.config.heartbeatSeconds * 1000, async () => {
    const now = nodeErrors();
    if (now !== errors) {
      if (now) log.warn('this node can no longer run jobs; capacity 0', { errors: now });
      else log.info('the programs jobs need are found; capacity restored');
      errors = now;
      wakeTaskManager();
    }
    // Back from being marked lost (a pause, a partition): it takes work again at the next pass.
    if (await heartbeat(rt.pool, node, { errors, nodeType: role })) wakeTaskManager();
    if (!manages) return;
    const lost = await reapLostInstances(rt.pool, bus, node, rt.config.heartbeatTolerance);
    if (lost.length) { log.warn('instances lost', { lost }); taskManager.wake(); }
  });
  const schedules = new BackgroundLoop('schedules', SCHEDULE_MS, () => runDueSchedules(rt.pool, rt.redis, rt.config, new Date(), rt.secrets));
  const notifications = new BackgroundLoop('notifications', NOTIFY_SEND_MS, () => sendDueNotifications(rt.pool, rt.secrets));
  const stopIndexing = new AbortController();
  const searchIndex = new BackgroundLoop('event search index', SEARCH_INDEX_MS, () => indexEventSearch(rt.pool, new Date(), stopIndexing.signal));
  // AWX's roles: an execution node claims and runs what it is given; a control node decides
  // (task manager, schedules, notifications, reaping) and runs nothing; a hybrid does both.
  const loops = [cluster, ...(runsJobs ? [claim] : []), ...(manages ? [taskManager, schedules, notifications] : []),
    ...(manages && rt.config.eventSearchIndex ? [searchIndex] : [])];

  const onNotification = (msg: pg.Notification) => {
    if (msg.channel === dispatchChannel(node)) claim.wake();
    else if (msg.channel === TASK_MANAGER_CHANNEL) taskManager.wake(20);
    else if (msg.channel === CANCEL_CHANNEL) pool.cancelJob(Number(msg.payload));
    else if (msg.channel === controlChannel(node)) {
      answerControl(msg.payload ?? '{}').catch((err) => log.warn('control request failed', { err }));
    }
  };
  const answerControl = async (payload: string) => {
    const req = JSON.parse(payload) as { command: ControlCommand; reply: string; uuid?: string };
    let answer: unknown;
    if (req.command === 'status') answer = { node, max_workers: pool.max, workers: pool.status() };
    else if (req.command === 'running') answer = pool.status().filter((w) => w.task).map((w) => w.task!.uuid);
    else if (req.command === 'reload') { pool.reload(); answer = { reloaded: true }; }
    else if (req.command === 'cancel') answer = await cancelTask(req.uuid ?? '');
    await rt.pool.query('SELECT pg_notify($1, $2)', [req.reply, JSON.stringify(answer)]);
  };
  const cancelTask = async (uuid: string) => {
    const running = pool.findTask(uuid);
    if (running?.name === 'run_unified_job') return { canceled: await cancelUnifiedJob(rt.pool, Number(running.args.job_id)), uuid };
    const { rowCount } = await rt.pool.query('DELETE FROM dispatcher_tasks WHERE uuid::text = $1 AND node = $2', [uuid, node]);
    return { canceled: (rowCount ?? 0) > 0, uuid };
  };
  // PLAYSTREAM_DISPATCHER_LISTEN=off leaves only the polling (bench:scheduler's baseline, to
  // show what the NOTIFY wake-up buys); it also turns off control, so it is not a setting.
  // Live again after a loss: what was announced meanwhile is caught up by a claim and a pass.
  const listener = process.env.PLAYSTREAM_DISPATCHER_LISTEN === 'off' ? { close: async () => {} }
    : listen(rt.config.databaseUrl!, 'dispatcher-listen', [...(runsJobs ? [dispatchChannel(node), CANCEL_CHANNEL] : []),
      ...(manages ? [TASK_MANAGER_CHANNEL] : []), controlChannel(node)],
    { notification: onNotification, live: () => { if (runsJobs) claim.wake(); if (manages) taskManager.wake(); } });
  for (const l of loops) l.start();

  rt.onShutdown(async () => {
    stopIndexing.abort();
    for (const l of loops) l.stop();
    await listener.close();
    await pool.close();
  });
  log.info('dispatcher ready', { node, node_type: role, maxWorkers, capacity: errors ? 0 : cap.capacity });
  reportReady({ node, errors });
}

/** The instance's `errors` for programs jobs need that cannot be found; '' when none is missing. */
function executionErrors(sandbox: boolean): string {
  const missing = missingExecutionBinaries({ sandbox });
  return missing.length ? describeMissingBinaries(missing) : '';
}

async function runControl(command: ControlCommand, args: string[]): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new PlaystreamError('PS_ERR_CONFIG', 'dispatcher control needs DATABASE_URL');
  const uuid = command === 'cancel' ? args[args.indexOf('--cancel') + 1] : undefined;
  if (command === 'cancel' && !uuid) throw new PlaystreamError('PS_ERR_VALIDATION', '--cancel needs a task uuid');
  const answer = await sendControl(config.databaseUrl, config.nodeName, command, uuid);
  process.stdout.write(JSON.stringify(answer, null, 2) + '\n');
}
