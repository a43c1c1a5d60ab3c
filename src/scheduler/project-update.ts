import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { jobKinds } from '../db/job-kinds.js';
import { redisKeys } from '../redis-keys.js';
import { EventPusher } from './event-push.js';
import { projectDir } from './private-data-dir.js';
import { Redactor } from './redact.js';
import { scmGitAuth, type ScmGitAuth } from './scm-credential.js';
import type { JobContext, JobRow, KindResult } from './run-unified-job.js';
import { SyntheticEvents } from './synthetic-events.js';

/**
 * A project update: git clone or fetch into <dataDir>/projects/<local_path>, then check out
 * the branch, tag, or commit asked for (the update's scm_branch, else the project's, else
 * the remote's default), after an optional `scm_refspec` fetch. `scm_clean` discards local
 * changes first; `scm_delete_on_update` starts from an empty directory. The checked-out
 * revision and the playbooks found are recorded on the project and the update. Each git
 * step is one task in the update's events (a play with runner_on_ok/failed and stats), so
 * project update output reads like AWX's. The project's Source Control credential (or the
 * update's own) reaches git through scm-credential.ts and is redacted from the events.
 */
const exec = promisify(execFile);
const PLAYBOOK_MARK = /^\s*-?\s*(hosts|import_playbook|ansible\.builtin\.import_playbook)\s*:/m;

export async function runProjectUpdate(ctx: JobContext, job: JobRow, setPusher: (p: EventPusher) => void): Promise<KindResult> {
  const { rows: [project] } = await ctx.pool.query('SELECT * FROM projects WHERE id = $1', [job.project_id]);
  const auth = await scmGitAuth(ctx.pool, ctx.secrets, job.credential_id ?? project.credential_id);
  try {
    return await updateProject(ctx, job, project, auth, setPusher);
  } finally {
    auth.cleanup();
  }
}

async function updateProject(ctx: JobContext, job: JobRow, project: { id: number; local_path: string; name: string } & Record<string, any>, auth: ScmGitAuth,
  setPusher: (p: EventPusher) => void): Promise<KindResult> {
  const pusher = new EventPusher(ctx.redis, redisKeys(ctx.config).callbackQueue, jobKinds.project_update.refField, job.id,
    job.created, new Redactor(auth.secrets));
  setPusher(pusher);
  const ev = new SyntheticEvents(pusher);
  ev.emit('playbook_on_start', '', { playbook: 'project_update.yml' });
  const play = ev.emit('playbook_on_play_start', `\nPLAY [Update source tree if necessary] ${'*'.repeat(40)}`,
    { play: 'Update source tree if necessary', name: 'Update source tree if necessary' });
  const dir = projectDir(ctx.config.dataDir, project);
  const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/true', ...auth.env };
  let ok = 0;
  const step = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    const task = ev.emit('playbook_on_task_start', `\nTASK [${name}] ${'*'.repeat(40)}`, { task: name, name }, play);
    try {
      const out = await fn();
      ok++;
      ev.emit('runner_on_ok', `ok: [localhost]${out ? ` => ${out}` : ''}`, { host: 'localhost', task: name, res: { msg: out } }, task);
      return true;
    } catch (err) {
      const msg = String((err as { stderr?: string }).stderr || (err as Error).message).trim();
      ev.emit('runner_on_failed', `fatal: [localhost]: FAILED! => ${JSON.stringify({ msg })}`,
        { host: 'localhost', task: name, res: { msg, failed: true } }, task);
      ev.emit('playbook_on_stats', `\nPLAY RECAP\nlocalhost : ok=${ok} changed=0 unreachable=0 failed=1`,
        { ok: { localhost: ok }, failures: { localhost: 1 }, changed: {}, dark: {}, skipped: {}, processed: { localhost: 1 } });
      return false;
    }
  };
  const git = async (...args: string[]) => (await exec('git', args, { cwd: dir, env, maxBuffer: 10 << 20 })).stdout.trim();
  const failed: KindResult = { final: { status: 'failed' } };

  if (project.scm_delete_on_update && !(await step('Delete project directory', async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    return dir;
  }))) return failed;
  if (!fs.existsSync(path.join(dir, '.git'))) {
    if (!(await step('Clone project', async () => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      await exec('git', ['clone', '--quiet', '--no-checkout', project.scm_url, dir], { env });
      return project.scm_url;
    }))) return failed;
  } else {
    if (project.scm_clean && !(await step('Clean local changes', async () => {
      await git('reset', '--hard', '--quiet');
      await git('clean', '-fdq');
      return 'clean';
    }))) return failed;
    if (!(await step('Fetch project', async () => {
      await git('remote', 'set-url', 'origin', project.scm_url);
      await git('fetch', '--quiet', '--prune', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*');
      return project.scm_url;
    }))) return failed;
  }
  if (project.scm_refspec && !(await step('Fetch refspec', async () => {
    await git('fetch', '--quiet', 'origin', ...String(project.scm_refspec).split(/\s+/).filter(Boolean));
    return project.scm_refspec;
  }))) return failed;
  const wanted: string = job.scm_branch || project.scm_branch || '';
  let revision = '';
  if (!(await step('Check out revision', async () => {
    const candidates = wanted ? [`origin/${wanted}`, `refs/tags/${wanted}`, wanted] : ['origin/HEAD', 'HEAD'];
    for (const ref of candidates) {
      try {
        revision = await git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
        if (revision) break;
      } catch { /* try the next form */ }
    }
    if (!revision) throw new Error(`revision "${wanted || 'default branch'}" not found in ${project.scm_url}`);
    await git('checkout', '--quiet', '--force', '--detach', revision);
    return revision;
  }))) return failed;
  const playbooks = discoverPlaybooks(dir);
  await step('Find playbooks', async () => playbooks.join(', '));
  ev.emit('playbook_on_stats', `\nPLAY RECAP ${'*'.repeat(40)}\nlocalhost : ok=${ok} changed=0 unreachable=0 failed=0`,
    { ok: { localhost: ok }, failures: {}, changed: {}, dark: {}, skipped: {}, processed: { localhost: 1 } });
  await ctx.pool.query(
    `UPDATE projects SET scm_revision = $2, playbook_files = $3, local_path = $4, modified = now() WHERE id = $1`,
    [project.id, revision, JSON.stringify(playbooks), path.basename(dir)]);
  return { final: { status: 'successful', extra: { scm_revision: revision, job_cwd: dir } } };
}

/** Playbooks in a checkout: YAML files whose top level is a play list (AWX looks for `hosts:` / `import_playbook`). */
export function discoverPlaybooks(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || ['roles', 'group_vars', 'host_vars', 'tasks', 'handlers', 'vars', 'templates'].includes(entry.name)) continue;
      const full = path.join(dir, entry.name);
      const relName = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(full, relName);
      else if (/\.ya?ml$/.test(entry.name)) {
        const text = fs.readFileSync(full, 'utf8').slice(0, 64_000);
        if (/^\s*-/m.test(text) && PLAYBOOK_MARK.test(text)) out.push(relName);
      }
    }
  };
  walk(root, '');
  return out.sort();
}
