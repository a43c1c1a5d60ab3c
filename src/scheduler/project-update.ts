import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PlaystreamError } from '../errors.js';
import type { EventPusher } from './event-push.js';
import { createPrivateDataDir, projectDir, requirementsDir } from './private-data-dir.js';
import { isUnder } from './sandbox/host-layout.js';
import { JobSandbox } from './sandbox/job-sandbox.js';
import { scmGitAuth, scmPasswordAuth, type ScmAuth } from './scm-credential.js';
import { emptyDirectory, type UpdatePlan } from './project-source.js';
import { withCheckoutLock, writeCheckoutRevision } from './project-checkout.js';
import { checkSvnFields, fetchSvn } from './project-svn.js';
import { checkScmFields, fetchGit } from './project-git.js';
import { checkArchiveUrl, fetchArchive } from './project-archive.js';
import type { JobContext, JobRow, KindResult } from './job-context.js';
import { SyntheticEvents } from './synthetic-events.js';
import { readSetting } from '../db/settings.js';
import { effectiveTimeout } from './job-timeout.js';
import { TIMEOUT_EXPLANATION } from './job-states.js';

/**
 * A project update into <dataDir>/projects/<local_path>: `scm_delete_on_update` empties the
 * directory first; then the source step of the project's type fetches the revision asked for
 * (the update's scm_branch, else the project's) — project-git.ts (clone or fetch, refspec,
 * checkout, submodules), project-svn.ts (checkout or update at a revision) or
 * project-archive.ts (download and unpack) — each honouring `scm_clean` its own way. The
 * revision and the playbooks found are recorded on the project and the update. Each step is
 * one task in the update's events (a play with runner_on_ok/failed and stats), so project
 * update output reads like AWX's. The project's Source Control credential (or the update's
 * own) reaches git, svn or the download through scm-credential.ts and is redacted from the
 * events. Then `roles/requirements.yml` and `collections/requirements.yml`, when the project
 * has them, are installed with ansible-galaxy for that revision (requirementsDir), once.
 *
 * The checkout is this node's own (project-checkout.ts): an update runs under the node's
 * checkout lock and records the revision it left there. A `sync` update (launch_type sync,
 * started by a job on a node whose checkout is not at the job's revision, project-sync.ts)
 * fetches that revision and leaves the project's recorded revision and playbooks alone.
 *
 * Every program runs in the update's sandbox (sandbox/job-sandbox.ts): it writes the checkout
 * and its private data dir, reads a local (file://) repository, and sees nothing else of
 * the data dir. What users typed reaches git and svn only as arguments they cannot take for
 * options: URLs, refspecs and branches are checked first (checkScmFields, checkSvnFields)
 * and follow `--`, and GIT_ALLOW_PROTOCOL keeps git to its network and file transports (no
 * `ext::` commands).
 */
const exec = promisify(execFile);
const PLAYBOOK_MARK = /^\s*-?\s*(hosts|import_playbook|ansible\.builtin\.import_playbook)\s*:/m;
const GIT_PROTOCOLS = 'file:git:http:https:ssh';

export async function runProjectUpdate(ctx: JobContext, job: JobRow, pusher: EventPusher): Promise<KindResult> {
  // A job's local sync runs under the checkout lock its job already holds (project-sync.ts).
  if (job.launch_type === 'sync') return runProjectUpdateLocked(ctx, job, pusher);
  return withCheckoutLock(ctx.pool, ctx.config.nodeName, job.project_id, () => runProjectUpdateLocked(ctx, job, pusher));
}

async function runProjectUpdateLocked(ctx: JobContext, job: JobRow, pusher: EventPusher): Promise<KindResult> {
  const { rows: [project] } = await ctx.pool.query('SELECT * FROM projects WHERE id = $1', [job.project_id]);
  const type: string = project.scm_type;
  if (!(type in FETCHERS)) return { final: { status: 'error', jobExplanation: `scm_type "${type}" is not supported by Playstream` } };
  // A sync fetches the revision its job recorded (AWX's job_type `run` update at scm_revision).
  const wanted: string = (job.launch_type === 'sync' && type !== 'archive' && job.scm_revision) || job.scm_branch || project.scm_branch || '';
  const fields = type === 'svn' ? checkSvnFields({ scm_url: project.scm_url, scm_branch: wanted })
    : type === 'archive' ? { scm_branch: '', refspecs: [], url: checkArchiveUrl(project.scm_url) }
      : checkScmFields({ scm_url: project.scm_url, scm_branch: wanted, scm_refspec: project.scm_refspec ?? '' });
  const localRepo = type === 'archive' ? null : localRepository(project.scm_url, ctx.config.dataDir);
  const privateDir = createPrivateDataDir(ctx.config.dataDir, job.id);
  const credentialId = job.credential_id ?? project.credential_id;
  const auth = type === 'git' ? await scmGitAuth(ctx.pool, ctx.secrets, credentialId, privateDir)
    : await scmPasswordAuth(ctx.pool, ctx.secrets, credentialId);
  try {
    return await updateProject(ctx, job, project, { ...fields, privateDir, localRepo }, auth, pusher);
  } finally {
    auth.cleanup();
  }
}


async function updateProject(ctx: JobContext, job: JobRow, project: { id: number; local_path: string; name: string } & Record<string, any>,
  plan: UpdatePlan, auth: ScmAuth, pusher: EventPusher): Promise<KindResult> {
  pusher.redactor.add(auth.secrets);
  const ev = new SyntheticEvents(pusher);
  ev.emit('playbook_on_start', '', { playbook: 'project_update.yml' });
  const play = ev.emit('playbook_on_play_start', `\nPLAY [Update source tree if necessary] ${'*'.repeat(40)}`,
    { play: 'Update source tree if necessary', name: 'Update source tree if necessary' });
  const dir = projectDir(ctx.config.dataDir, project);
  writeCheckoutRevision(ctx.config.dataDir, project, null);
  // The checkout and the requirements cache are bound into the sandbox, so they must exist
  // before git runs (an empty directory is a valid clone target).
  fs.mkdirSync(dir, { recursive: true });
  const cacheRoot = path.dirname(requirementsDir(ctx.config.dataDir, project, 'x'));
  fs.mkdirSync(cacheRoot, { recursive: true });
  const sandbox = await JobSandbox.open(ctx.pool, ctx.config,
    { privateDir: plan.privateDir, writable: [dir, cacheRoot], readonly: plan.localRepo ? [plan.localRepo] : [] });
  const env = sandbox.env({ set: { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/true', GIT_ALLOW_PROTOCOL: GIT_PROTOCOLS, ...auth.env } });
  let ok = 0;
  let failure = '';
  const step = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    const task = ev.emit('playbook_on_task_start', `\nTASK [${name}] ${'*'.repeat(40)}`, { task: name, name }, play);
    try {
      const out = await fn();
      ok++;
      ev.emit('runner_on_ok', `ok: [localhost]${out ? ` => ${out}` : ''}`, { host: 'localhost', task: name, res: { msg: out } }, task);
      return true;
    } catch (err) {
      const msg = String((err as { stderr?: string }).stderr || (err as Error).message).trim();
      failure = `${name} failed: ${msg}`.slice(0, 1024);
      ev.emit('runner_on_failed', `fatal: [localhost]: FAILED! => ${JSON.stringify({ msg })}`,
        { host: 'localhost', task: name, res: { msg, failed: true } }, task);
      ev.emit('playbook_on_stats', `\nPLAY RECAP\nlocalhost : ok=${ok} changed=0 unreachable=0 failed=1`,
        { ok: { localhost: ok }, failures: { localhost: 1 }, changed: {}, dark: {}, skipped: {}, processed: { localhost: 1 } });
      return false;
    }
  };
  // The project's `timeout` (or DEFAULT_PROJECT_UPDATE_TIMEOUT) bounds the whole update: each git command gets what is left.
  const timeout = await effectiveTimeout(ctx.pool, 'project_update', job.timeout);
  const deadline = timeout > 0 ? Date.now() + timeout * 1000 : 0;
  let timedOut = false;
  // What failed, with git's own message, for job_explanation (it is also in the update's output).
  const failed = (): KindResult => ({ final: { status: 'failed', jobExplanation: timedOut ? TIMEOUT_EXPLANATION : pusher.redactor.text(failure) } });

  if (project.scm_delete_on_update && !(await step('Delete project directory', async () => {
    emptyDirectory(dir);
    return dir;
  }))) return failed();
  const revision = await FETCHERS[project.scm_type as keyof typeof FETCHERS]({
    dir, project, plan, auth, step, privateDir: plan.privateDir,
    run: async (program, args, opts = {}) => {
      const cmd = sandbox.command(program, args, { cwd: opts.cwd ?? dir });
      const left = deadline ? deadline - Date.now() : 0;
      if (deadline && left <= 0) { timedOut = true; throw new Error(TIMEOUT_EXPLANATION); }
      try {
        const p = exec(cmd.file, cmd.args, { cwd: opts.cwd ?? dir, env, maxBuffer: 10 << 20, timeout: left });
        if (opts.input !== undefined) p.child.stdin?.end(opts.input);
        return (await p).stdout.trim();
      } catch (err) {
        if (deadline && (err as { killed?: boolean }).killed) timedOut = true;
        throw err;
      }
    },
    deadline,
  });
  if (revision === null) return failed();
  const playbooks = discoverPlaybooks(dir);
  await step('Find playbooks', async () => playbooks.join(', '));
  // Roles and collections the project requires, installed once per revision (AWX's
  // project_update.yml): jobs of this revision find them first on their paths.
  const cache = requirementsDir(ctx.config.dataDir, project, revision);
  if (!fs.existsSync(path.join(cache, '.complete'))) {
    fs.rmSync(cache, { recursive: true, force: true });
    const vvv = await readSetting(ctx.pool, 'PROJECT_UPDATE_VVV', false, (v) => typeof v === 'boolean');
    for (const [kind, what] of [['roles', 'role'], ['collections', 'collection']] as const) {
      const file = [`${kind}/requirements.yml`, `${kind}/requirements.yaml`].find((f) => fs.existsSync(path.join(dir, f)));
      if (!file) continue;
      if (!(await step(`Install ${kind} from ${file}`, async () => {
        const dest = path.join(cache, `requirements_${kind}`);
        fs.mkdirSync(dest, { recursive: true });
        // PROJECT_UPDATE_VVV (AWX: -vvv on the update's ansible runs): galaxy's whole verbose output, not its last line.
        const cmd = sandbox.command('ansible-galaxy', [what, 'install', '-r', file, '-p', dest, '--force', ...(vvv ? ['-vvv'] : [])], { cwd: dir });
        const out = (await exec(cmd.file, cmd.args, { cwd: dir, env, maxBuffer: 10 << 20, timeout: 600_000 })).stdout.trim();
        return vvv ? out : out.split('\n').at(-1) ?? '';
      }))) return failed();
    }
    fs.mkdirSync(cache, { recursive: true });
    fs.writeFileSync(path.join(cache, '.complete'), revision);
  }
  ev.emit('playbook_on_stats', `\nPLAY RECAP ${'*'.repeat(40)}\nlocalhost : ok=${ok} changed=0 unreachable=0 failed=0`,
    { ok: { localhost: ok }, failures: {}, changed: {}, dark: {}, skipped: {}, processed: { localhost: 1 } });
  writeCheckoutRevision(ctx.config.dataDir, project, revision);
  // A sync brings this node's checkout to a revision the project already recorded: the project is left as it is (AWX).
  if (job.launch_type !== 'sync') {
    await ctx.pool.query(
      `UPDATE projects SET scm_revision = $2, playbook_files = $3, local_path = $4, modified = now() WHERE id = $1`,
      [project.id, revision, JSON.stringify(playbooks), path.basename(dir)]);
  }
  return { final: { status: 'successful', extra: { scm_revision: revision, job_cwd: dir } } };
}

const FETCHERS = { git: fetchGit, svn: fetchSvn, archive: fetchArchive } as const;



/**
 * The directory of a file:// (or plain-path) repository, bound read-only into the update's
 * sandbox so git can clone from it. Refused, so that a clone cannot carry the controller's
 * files into a checkout that jobs read:
 * - the data dir or a directory above it, and inside it the job dirs, other projects'
 *   checkouts, the embedded Postgres and Redis, the secret key (a local repository
 *   elsewhere in the data dir, like the demo project's, is allowed);
 * - outside the data dir, a repository that not every user of the machine may read (the
 *   directory or its .git not readable and searchable by "others"): /etc/.git under
 *   etckeeper holds /etc/shadow, and the sandbox shows a job no more than a stranger could
 *   read (sandbox/host-layout.ts). Inside the data dir (the controller's own, the demo
 *   project's repository) the mode is whatever the operator's umask made it.
 * Both the path as written and where its symlinks lead are checked.
 */
export function localRepository(scmUrl: string, dataDir: string): string | null {
  let p: string;
  if (/^file:\/\//i.test(scmUrl)) {
    try { p = decodeURIComponent(new URL(scmUrl).pathname); } catch { return null; }
  } else if (scmUrl.startsWith('/')) {
    p = scmUrl;
  } else {
    return null;
  }
  p = path.resolve(p);
  if (!fs.existsSync(p)) return null;
  const refuse = (why: string): never => {
    throw new PlaystreamError('PS_ERR_VALIDATION', `scm_url ${JSON.stringify(scmUrl)} is refused: ${why}`);
  };
  const real = fs.realpathSync(p);
  let inDataDir = false;
  for (const data of new Set([dataDir, realOrSelf(dataDir)])) {
    const reserved = ['jobs', 'projects', 'postgres', 'redis', 'secret_key'].map((n) => path.join(data, n));
    for (const candidate of [p, real]) {
      if (isUnder(data, candidate) || reserved.some((r) => isUnder(candidate, r))) refuse(`${candidate} is part of Playstream's data dir`);
      if (isUnder(candidate, data)) inDataDir = true;
    }
  }
  for (const d of inDataDir ? [] : [real, path.join(real, '.git')]) {
    let st: fs.Stats;
    try { st = fs.statSync(d); } catch { continue; }
    if (!st.isDirectory() || (st.mode & 0o005) !== 0o005) refuse(`${d} is not readable by every user of this machine`);
  }
  return p;
}

function realOrSelf(p: string): string {
  try { return fs.realpathSync(p); } catch { return p; }
}

/**
 * Playbooks in a checkout: YAML files whose top level is a play list (AWX looks for `hosts:` /
 * `import_playbook`). This reads the checkout outside the sandbox, so a symlink is followed
 * only to a regular file inside the checkout: a repository's `x.yml -> /etc/shadow` or a
 * link to a FIFO (which would block the worker) is skipped.
 */
export function discoverPlaybooks(root: string): string[] {
  const out: string[] = [];
  const realRoot = fs.realpathSync(root);
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || ['roles', 'group_vars', 'host_vars', 'tasks', 'handlers', 'vars', 'templates'].includes(entry.name)) continue;
      const full = path.join(dir, entry.name);
      const relName = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(full, relName);
      else if (/\.ya?ml$/.test(entry.name)) {
        if (entry.isSymbolicLink() && !linksToFileWithin(full, realRoot)) continue;
        if (!entry.isFile() && !entry.isSymbolicLink()) continue;
        const text = fs.readFileSync(full, 'utf8').slice(0, 64_000);
        if (/^\s*-/m.test(text) && PLAYBOOK_MARK.test(text)) out.push(relName);
      }
    }
  };
  walk(root, '');
  return out.sort();
}

function linksToFileWithin(link: string, realRoot: string): boolean {
  try {
    const target = fs.realpathSync(link);
    return isUnder(target, realRoot) && fs.statSync(target).isFile();
  } catch {
    return false;
  }
}
