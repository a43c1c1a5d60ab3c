import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { jobKinds } from '../db/job-kinds.js';
import { PlaystreamError } from '../errors.js';
import { log } from '../log.js';
import { redisKeys } from '../redis-keys.js';
import { injectCredentials, refuseInlineJinja } from './credential-injection.js';
import { EventPusher } from './event-push.js';
import type { JobContext, JobRow, KindResult } from './job-context.js';
import { runInventoryUpdate } from './inventory-update.js';
import { markRunning, saveFinalStatus, TIMEOUT_EXPLANATION, type FinalFields, type StatusBus } from './job-states.js';
import { parseVars } from './vars.js';
import { createStartedNotifications } from './notifications.js';
import { factCacheDir, FACT_CACHE_TYPE, finishFactCache, startFactCache } from './fact-cache.js';
import { checkoutBranch } from './project-git.js';
import { buildInventory, createPrivateDataDir, jobDir, projectDir, requirementsDir, writeEnvFiles, writeInventory } from './private-data-dir.js';
import { runProjectUpdate } from './project-update.js';
import { ensureProjectCheckout } from './project-sync.js';
import { binaries } from '../services/system-packages.js';
import { Redactor } from './redact.js';
import { surveySecrets } from './survey-secrets.js';
import { RUNNER_PROGRAM, runnerArgs, startRunner, type RunnerOutcome } from './runner-process.js';
import { errorExplanation, WorkerStream } from './runner-stream.js';
import { JobSandbox } from './sandbox/job-sandbox.js';
import { resolveJobEnvironment, unrunnableEnvironment } from './execution-environment.js';
import { runSystemJob } from './system-jobs.js';
import { effectiveTimeout } from './job-timeout.js';
import { isWholeNumber, readSetting } from '../db/settings.js';

/**
 * What a dispatcher worker does with a `run_unified_job` task: waiting → running, run the
 * job for its kind, save the final status, remove the private data dir. A job that is no
 * longer waiting on this node (canceled meanwhile, reaped) is left alone.
 */

export async function runUnifiedJob(ctx: JobContext, jobId: number): Promise<void> {
  const bus: StatusBus = { redis: ctx.redis, config: ctx.config };
  if (!(await markRunning(ctx.pool, bus, jobId, ctx.config.nodeName))) {
    log.info('job no longer waiting here; skipped', { job: jobId });
    return;
  }
  const { rows: [job] } = await ctx.pool.query<JobRow>('SELECT * FROM unified_jobs WHERE id = $1', [jobId]);
  await createStartedNotifications(ctx.pool, jobId).catch((err) => log.warn('started notifications failed', { job: jobId, err }));
  const kind = jobKinds[job.kind];
  // The job's one pusher: each kind adds its secrets to its redactor.
  const pusher = new EventPusher(ctx.redis, redisKeys(ctx.config).callbackQueue, kind.refField, job.id, job.created, new Redactor([]));
  let final: FinalFields;
  try {
    // A job runs in its execution environment, which only the host sandbox can be here.
    const refused = job.kind === 'job' ? unrunnableEnvironment(await resolveJobEnvironment(ctx.pool, job.id)) : undefined;
    const result = refused ? { final: refused } : job.kind === 'project_update' ? await runProjectUpdate(ctx, job, pusher)
      : job.kind === 'inventory_update' ? await runInventoryUpdate(ctx, job, pusher)
      : job.kind === 'system_job' ? await runSystemJob(ctx, job, pusher)
      : await runPlaybook(ctx, job, pusher);
    final = result.final;
  } catch (err) {
    if (err instanceof PlaystreamError && (err.code === 'PS_ERR_VALIDATION' || err.code === 'PS_ERR_CREDENTIAL_LOOKUP')) {
      // Refused before anything ran (Jinja where AWX forbids it, a show path that would expose
      // the data dir, a credential input its lookup could not fetch, ...).
      final = { status: 'error', jobExplanation: err.message };
    } else {
      log.error('job crashed', { job: jobId, err });
      final = { status: 'error', resultTraceback: String((err as Error).stack ?? err) };
    }
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

/** Runs a job (ansible-playbook) or an ad hoc command (ansible) through ansible-runner, in the job sandbox. */
async function runPlaybook(ctx: JobContext, job: JobRow, pusher: EventPusher): Promise<KindResult> {
  const dir = createPrivateDataDir(ctx.config.dataDir, job.id);
  const { rows: creds } = await ctx.pool.query<{ credential_id: number }>(
    'SELECT credential_id FROM unified_job_credentials WHERE unified_job_id = $1', [job.id]);
  const credentialIds = [...new Set([...creds.map((c) => c.credential_id), ...(job.credential_id ? [job.credential_id] : [])])];
  // Passwords given at launch are read once and not kept.
  const { rows: [asked] } = await ctx.pool.query<{ credential_passwords: string }>(
    `UPDATE unified_jobs j SET credential_passwords = '' FROM unified_jobs o WHERE j.id = o.id AND j.id = $1 RETURNING o.credential_passwords`, [job.id]);
  const launchPasswords = asked?.credential_passwords ? JSON.parse(ctx.secrets.decrypt(asked.credential_passwords)) as Record<string, string> : {};
  const inj = await injectCredentials(ctx.pool, ctx.secrets, credentialIds, dir, launchPasswords);
  const survey = surveySecrets(job, ctx.secrets);
  const redactor = pusher.redactor;
  redactor.add([...inj.secrets, ...survey.redact]);

  writeInventory(dir, await buildInventory(ctx.pool, job.inventory_id,
    job.job_slice_count > 1 ? { number: job.job_slice_number, count: job.job_slice_count } : undefined));
  const cmdline: string[] = [...inj.args];
  if (job.limit) cmdline.push('--limit', job.limit);
  if (job.forks > 0) cmdline.push('--forks', String(await boundedForks(ctx.pool, job)));
  if (job.verbosity > 0) cmdline.push(`-${'v'.repeat(Math.min(job.verbosity, 5))}`);
  if (job.job_type === 'check') cmdline.push('--check');
  if (job.diff_mode) cmdline.push('--diff');
  if (job.become_enabled) cmdline.push('--become');
  const kwargs: Record<string, unknown> = { ident: String(job.id) };
  const jinja = await allowJinjaInExtraVars(ctx.pool);
  let cwd: string;
  let checkout: string[] = [];
  const requirementPaths: Record<string, string> = {};
  if (job.kind === 'job') {
    if (job.job_tags) cmdline.push('--tags', job.job_tags);
    if (job.skip_tags) cmdline.push('--skip-tags', job.skip_tags);
    if (job.start_at_task) cmdline.push('--start-at-task', job.start_at_task);
    if (job.force_handlers) cmdline.push('--force-handlers');
    const { rows: [project] } = await ctx.pool.query(
      'SELECT id, name, local_path, scm_type, scm_revision, scm_branch, organization_id FROM projects WHERE id = $1', [job.project_id]);
    if (!project) return { final: { status: 'error', jobExplanation: 'The project of this job no longer exists' } };
    // This node's checkout at the job's revision, synced here first when it is not (project-sync.ts).
    const unsynced = await ensureProjectCheckout(ctx, job, project);
    if (unsynced) return { final: unsynced };
    cwd = projectDir(ctx.config.dataDir, project);
    if (!fs.existsSync(cwd)) return { final: { status: 'error', jobExplanation: `project directory ${cwd} does not exist: update the project` } };
    if (job.scm_branch && job.scm_branch !== (project.scm_branch ?? '')) {
      // Another branch than the project's (allow_override): a checkout for this job alone.
      cwd = await checkoutBranch(cwd, job.scm_branch, `${dir}/branch_checkout`);
    }
    fs.symlinkSync(cwd, `${dir}/project`);
    checkout = [cwd];
    // The roles and collections its update installed for this revision come first on Ansible's paths.
    const revision: string = job.scm_revision || project.scm_revision;
    const requirements = revision ? requirementsDir(ctx.config.dataDir, project, revision) : '';
    if (requirements && fs.existsSync(requirements)) {
      checkout.push(requirements);
      requirementPaths.ANSIBLE_ROLES_PATH = [`${requirements}/requirements_roles`, ...DEFAULT_ROLES_PATH].join(':');
      requirementPaths.ANSIBLE_COLLECTIONS_PATHS = [`${requirements}/requirements_collections`, ...DEFAULT_COLLECTIONS_PATH].join(':');
    }
    kwargs.playbook = job.playbook;
  } else {
    fs.mkdirSync(`${dir}/project`);
    cwd = `${dir}/project`;
    const moduleArgs = job.module_args && jinja !== 'always' ? refuseInlineJinja(job.module_args) : job.module_args;
    Object.assign(kwargs, { module: job.module_name, host_pattern: job.limit || 'all' }, moduleArgs ? { module_args: moduleArgs } : {});
  }
  const extraVars = { ...parseVars(job.extra_vars), ...survey.extraVars, ...inj.extraVars };
  writeEnvFiles(dir, { extraVars, passwords: inj.passwords, envvars: inj.env, cmdline,
    trustedExtraVars: await trustedExtraVars(ctx.pool, job, jinja, extraVars, inj.extraVars) });

  const facts = job.kind === 'job' && job.use_fact_cache && job.inventory_id
    ? await startFactCache(ctx.pool, job.inventory_id, factCacheDir(dir, String(job.id))) : undefined;
  if (facts) kwargs.fact_cache_type = FACT_CACHE_TYPE;

  const sandbox = await JobSandbox.open(ctx.pool, ctx.config, { privateDir: dir, readonly: checkout });
  const env = sandbox.env({ injected: inj.env, set: { ANSIBLE_FORCE_COLOR: 'True', ANSIBLE_HOST_KEY_CHECKING: 'False',
    PYTHONUNBUFFERED: '1', AWX_JOB_ID: String(job.id), PLAYSTREAM_JOB_ID: String(job.id), ...requirementPaths } });
  await ctx.pool.query('UPDATE unified_jobs SET job_args = $2, job_cwd = $3, job_env = $4 WHERE id = $1',
    [job.id, redactor.text(JSON.stringify([RUNNER_PROGRAM, ...runnerArgs(dir), JSON.stringify(kwargs), ...cmdline])), cwd,
      redactor.env(env)]);

  const stream = new WorkerStream(pusher);
  const runner = startRunner({ kwargs, env, privateDataDir: dir, ident: String(job.id),
    timeoutSeconds: await effectiveTimeout(ctx.pool, job.kind, job.timeout),
    command: sandbox.command(RUNNER_PROGRAM, runnerArgs(dir), { cwd: dir, reportPid: true }),
    onStdout: (chunk) => stream.write(chunk) });
  const unregister = ctx.onCancel(job.id, () => runner.cancel());
  let outcome: RunnerOutcome;
  try {
    outcome = await runner.done;
  } finally {
    unregister();
    stream.end();
  }
  if (facts) await finishFactCache(ctx.pool, facts);
  const final = outcomeToFinal(outcome, stream, redactor);
  // set_stats artifacts, kept on the job for the workflow nodes after it (workflow/advance.ts), secrets redacted.
  if (stream.artifacts) final.extra = { ...final.extra, artifacts: redactor.text(JSON.stringify(stream.artifacts)) };
  return { final };
}

/** Ansible's own default role and collection paths, kept after the project's requirements. */
const DEFAULT_ROLES_PATH = ['~/.ansible/roles', '/usr/share/ansible/roles', '/etc/ansible/roles'];
const DEFAULT_COLLECTIONS_PATH = ['~/.ansible/collections', '/usr/share/ansible/collections'];

/** AWX's MAX_FORKS (200; 0: no bound) caps a job's forks at run time, with a warning, whatever the template or prompt asked. */
async function boundedForks(db: Pick<pg.Pool, 'query'>, job: JobRow): Promise<number> {
  if (job.kind !== 'job') return job.forks;
  const max = await readSetting(db, 'MAX_FORKS', 200, isWholeNumber);
  if (max <= 0 || job.forks <= max) return job.forks;
  log.warn('job forks above MAX_FORKS: capped', { job: job.id, forks: job.forks, MAX_FORKS: max });
  return max;
}

type JinjaInExtraVars = 'always' | 'template' | 'never';

/** AWX's ALLOW_JINJA_IN_EXTRA_VARS (/api/v2/settings/jobs/), `template` unless a superuser chose another of its values. */
async function allowJinjaInExtraVars(db: Pick<pg.Pool, 'query'>): Promise<JinjaInExtraVars> {
  const { rows } = await db.query<{ value: unknown }>(`SELECT value FROM api_settings WHERE key = 'ALLOW_JINJA_IN_EXTRA_VARS'`);
  const v = rows[0]?.value;
  return v === 'always' || v === 'never' ? v : 'template';
}

/**
 * The extra vars Ansible may template, as AWX decides at run time: with `template`, a
 * variable whose value is exactly what the job's template defines today (only those who may
 * edit the template set it); with `always`, every variable of the job; with `never`, none.
 * Everything else — prompted extra vars, survey answers, a schedule's extra_data, a relaunch's
 * copy, an ad hoc command's vars — is written `!unsafe` (private-data-dir.ts extraVarsYaml),
 * and so is every value a credential injects, whatever the setting (AWX writes those with
 * safe_dump too).
 */
async function trustedExtraVars(db: Pick<pg.Pool, 'query'>, job: JobRow, jinja: JinjaInExtraVars,
  vars: Record<string, unknown>, injected: Record<string, unknown>): Promise<Set<string>> {
  const names = Object.keys(vars).filter((k) => !Object.hasOwn(injected, k));
  if (jinja === 'always') return new Set(names);
  if (jinja === 'never' || job.kind !== 'job' || !job.unified_job_template_id) return new Set();
  const { rows: [jt] } = await db.query<{ extra_vars: string }>('SELECT extra_vars FROM job_templates WHERE id = $1',
    [job.unified_job_template_id]);
  let defined: Record<string, unknown> = {};
  try { defined = parseVars(jt?.extra_vars ?? ''); } catch { /* unparsable template vars define nothing */ }
  return new Set(names.filter((k) => Object.hasOwn(defined, k) && isDeepStrictEqual(defined[k], vars[k])));
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
        : outcome.sandboxError ? `the job sandbox could not be set up: bwrap: ${outcome.sandboxError}`
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
