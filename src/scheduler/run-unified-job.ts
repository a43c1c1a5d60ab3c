import fs from 'node:fs';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../config.js';
import { jobKinds, type JobKind } from '../db/job-kinds.js';
import { log } from '../log.js';
import { redisKeys } from '../redis-keys.js';
import type { SecretBox } from '../security/secrets.js';
import { injectCredentials } from './credential-injection.js';
import { EventPusher } from './event-push.js';
import { runInventoryUpdate } from './inventory-update.js';
import { markRunning, saveFinalStatus, TIMEOUT_EXPLANATION, type FinalFields, type StatusBus } from './job-states.js';
import { parseVars } from './launch.js';
import { createStartedNotifications } from './notifications.js';
import { buildInventory, createPrivateDataDir, jobDir, projectDir, writeEnvFiles, writeInventory } from './private-data-dir.js';
import { runProjectUpdate } from './project-update.js';
import { binaries } from '../services/system-packages.js';
import { Redactor } from './redact.js';
import { RUNNER_PROGRAM, runnerArgs, startRunner, type RunnerOutcome } from './runner-process.js';
import { errorExplanation, WorkerStream } from './runner-stream.js';
import { runSystemJob } from './system-jobs.js';

/**
 * What a dispatcher worker does with a `run_unified_job` task: waiting → running, run the
 * job for its kind, save the final status, remove the private data dir. A job that is no
 * longer waiting on this node (canceled meanwhile, reaped) is left alone.
 */
export interface JobContext {
  pool: pg.Pool;
  redis: Redis;
  config: Config;
  secrets: SecretBox;
  /** Registers the function that stops this job when a cancel arrives; returns an unregister. */
  onCancel(jobId: number, stop: () => void): () => void;
}

export type JobRow = Record<string, any> & { id: number; kind: JobKind; created: Date; timeout: number };

export interface KindResult { final: FinalFields }

export async function runUnifiedJob(ctx: JobContext, jobId: number): Promise<void> {
  const bus: StatusBus = { redis: ctx.redis, config: ctx.config };
  if (!(await markRunning(ctx.pool, bus, jobId, ctx.config.nodeName))) {
    log.info('job no longer waiting here; skipped', { job: jobId });
    return;
  }
  const { rows: [job] } = await ctx.pool.query<JobRow>('SELECT * FROM unified_jobs WHERE id = $1', [jobId]);
  await createStartedNotifications(ctx.pool, jobId).catch((err) => log.warn('started notifications failed', { job: jobId, err }));
  const kind = jobKinds[job.kind];
  const redactor = new Redactor([]);
  let pusher = new EventPusher(ctx.redis, redisKeys(ctx.config).callbackQueue, kind.refField, job.id, job.created, redactor);
  let final: FinalFields;
  try {
    const result = job.kind === 'project_update' ? await runProjectUpdate(ctx, job, (p) => { pusher = p; })
      : job.kind === 'inventory_update' ? await runInventoryUpdate(ctx, job, (p) => { pusher = p; })
      : job.kind === 'system_job' ? await runSystemJob(ctx, job, (p) => { pusher = p; })
      : await runPlaybook(ctx, job, (p) => { pusher = p; });
    final = result.final;
  } catch (err) {
    log.error('job crashed', { job: jobId, err });
    final = { status: 'error', resultTraceback: String((err as Error).stack ?? err) };
  } finally {
    fs.rmSync(jobDir(ctx.config.dataDir, jobId), { recursive: true, force: true });
  }
  try {
    final.emittedEvents = await pusher.finish();
  } catch (err) {
    log.error('event push failed', { job: jobId, err });
  }
  await saveFinalStatus(ctx.pool, bus, jobId, final, ['running']);
}

/** Runs a job (ansible-playbook) or an ad hoc command (ansible) through ansible-runner. */
async function runPlaybook(ctx: JobContext, job: JobRow, setPusher: (p: EventPusher) => void): Promise<KindResult> {
  const dir = createPrivateDataDir(ctx.config.dataDir, job.id);
  const { rows: creds } = await ctx.pool.query<{ credential_id: number }>(
    'SELECT credential_id FROM unified_job_credentials WHERE unified_job_id = $1', [job.id]);
  const credentialIds = [...new Set([...creds.map((c) => c.credential_id), ...(job.credential_id ? [job.credential_id] : [])])];
  const inj = await injectCredentials(ctx.pool, ctx.secrets, credentialIds, dir);
  const redactor = new Redactor(inj.secrets);
  const pusher = new EventPusher(ctx.redis, redisKeys(ctx.config).callbackQueue, jobKinds[job.kind].refField, job.id, job.created, redactor);
  setPusher(pusher);

  writeInventory(dir, await buildInventory(ctx.pool, job.inventory_id));
  const cmdline: string[] = [...inj.args];
  if (job.limit) cmdline.push('--limit', job.limit);
  if (job.forks > 0) cmdline.push('--forks', String(job.forks));
  if (job.verbosity > 0) cmdline.push(`-${'v'.repeat(Math.min(job.verbosity, 5))}`);
  if (job.job_type === 'check') cmdline.push('--check');
  if (job.diff_mode) cmdline.push('--diff');
  if (job.become_enabled) cmdline.push('--become');
  const kwargs: Record<string, unknown> = { ident: String(job.id) };
  let cwd: string;
  if (job.kind === 'job') {
    if (job.job_tags) cmdline.push('--tags', job.job_tags);
    if (job.skip_tags) cmdline.push('--skip-tags', job.skip_tags);
    if (job.start_at_task) cmdline.push('--start-at-task', job.start_at_task);
    const { rows: [project] } = await ctx.pool.query('SELECT id, name, local_path FROM projects WHERE id = $1', [job.project_id]);
    if (!project) return { final: { status: 'error', jobExplanation: 'The project of this job no longer exists' } };
    cwd = projectDir(ctx.config.dataDir, project);
    if (!fs.existsSync(cwd)) return { final: { status: 'error', jobExplanation: `project directory ${cwd} does not exist: update the project` } };
    fs.symlinkSync(cwd, `${dir}/project`);
    kwargs.playbook = job.playbook;
  } else {
    fs.mkdirSync(`${dir}/project`);
    cwd = `${dir}/project`;
    Object.assign(kwargs, { module: job.module_name, host_pattern: job.limit || 'all' }, job.module_args ? { module_args: job.module_args } : {});
  }
  writeEnvFiles(dir, { extraVars: { ...parseVars(job.extra_vars), ...inj.extraVars }, passwords: inj.passwords,
    envvars: inj.env, cmdline });

  const env: NodeJS.ProcessEnv = { ...process.env, ...inj.env, ANSIBLE_FORCE_COLOR: 'True', ANSIBLE_HOST_KEY_CHECKING: 'False',
    PYTHONUNBUFFERED: '1', AWX_JOB_ID: String(job.id), PLAYSTREAM_JOB_ID: String(job.id) };
  await ctx.pool.query('UPDATE unified_jobs SET job_args = $2, job_cwd = $3, job_env = $4 WHERE id = $1',
    [job.id, redactor.text(JSON.stringify([RUNNER_PROGRAM, ...runnerArgs(dir), JSON.stringify(kwargs), ...cmdline])), cwd,
      redactor.env({ ...inj.env, ANSIBLE_FORCE_COLOR: 'True', AWX_JOB_ID: String(job.id), PATH: process.env.PATH })]);

  const stream = new WorkerStream(pusher);
  const runner = startRunner({ kwargs, env, privateDataDir: dir, ident: String(job.id), timeoutSeconds: job.timeout,
    onStdout: (chunk) => stream.write(chunk) });
  const unregister = ctx.onCancel(job.id, () => runner.cancel());
  let outcome: RunnerOutcome;
  try {
    outcome = await runner.done;
  } finally {
    unregister();
    stream.end();
  }
  return { final: outcomeToFinal(outcome, stream, redactor) };
}

export function outcomeToFinal(outcome: RunnerOutcome, stream: WorkerStream, redactor: Redactor): FinalFields {
  // Ansible's own fatal error (missing playbook, syntax error, missing role, vault, ...), or the runner's.
  const ansibleError = errorExplanation(stream.errorLines);
  const explain = (fallback?: string) => redactor.text(ansibleError || stream.explanation || fallback || '') || undefined;
  switch (outcome.kind) {
    case 'canceled': return { status: 'canceled' };
    case 'timeout': return { status: 'failed', jobExplanation: TIMEOUT_EXPLANATION };
    case 'exited': {
      const ok = outcome.status === 'successful' && outcome.rc === 0;
      return ok ? { status: 'successful' } : { status: 'failed', jobExplanation: explain() };
    }
    case 'crashed': return {
      status: 'error',
      jobExplanation: outcome.missingProgram
        ? missingProgramExplanation(outcome.missingProgram)
        : explain(`ansible-runner exited without a status (rc ${outcome.rc}${outcome.signal ? `, ${outcome.signal}` : ''})`),
      resultTraceback: redactor.text([stream.traceback, outcome.stderr].filter(Boolean).join('\n').slice(-20_000)),
    };
  }
}

/** The program a job needed and did not find, with the Debian package that ships it. */
export function missingProgramExplanation(program: string): string {
  const pkg = Object.values(binaries).find((b) => b.name === program)?.debianPackage;
  return `${program} is not installed on this node${pkg ? `: install the Debian package ${pkg}` : ''}`;
}
