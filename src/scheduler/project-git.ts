import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PlaystreamError } from '../errors.js';
import { emptyDirectory, type SourceFetch } from './project-source.js';

/**
 * A git project's source step (clone or fetch, refspec, checkout, submodules), a job's own
 * checkout of another branch, and the checks of what users typed before git sees it.
 */
const exec = promisify(execFile);

export /** git: clone or fetch, the refspec, the revision asked for, submodules. */
async function fetchGit({ dir, project, plan, step, run }: SourceFetch): Promise<string | null> {
  const git = (...args: string[]) => run('git', args);
  if (!fs.existsSync(path.join(dir, '.git'))) {
    if (!(await step('Clone project', async () => {
      emptyDirectory(dir);
      await git('clone', '--quiet', '--no-checkout', '--', project.scm_url, dir);
      return project.scm_url;
    }))) return null;
  } else {
    if (project.scm_clean && !(await step('Clean local changes', async () => {
      await git('reset', '--hard', '--quiet');
      await git('clean', '-fdq');
      return 'clean';
    }))) return null;
    if (!(await step('Fetch project', async () => {
      await git('remote', 'set-url', '--', 'origin', project.scm_url);
      await git('fetch', '--quiet', '--prune', '--tags', '--', 'origin', '+refs/heads/*:refs/remotes/origin/*');
      return project.scm_url;
    }))) return null;
  }
  if (plan.refspecs.length && !(await step('Fetch refspec', async () => {
    await git('fetch', '--quiet', '--', 'origin', ...plan.refspecs);
    return plan.refspecs.join(' ');
  }))) return null;
  const wanted = plan.scm_branch;
  let revision = '';
  if (!(await step('Check out revision', async () => {
    const candidates = wanted ? [`origin/${wanted}`, `refs/tags/${wanted}`, wanted] : ['origin/HEAD', 'HEAD'];
    for (const ref of candidates) {
      try {
        revision = await git('rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`);
        if (revision) break;
      } catch { /* try the next form */ }
    }
    if (!revision) throw new Error(`revision "${wanted || 'default branch'}" not found in ${project.scm_url}`);
    await git('checkout', '--quiet', '--force', '--detach', revision);
    return revision;
  }))) return null;
  // Submodules, always recursive as AWX's update checks them out; with scm_track_submodules
  // each follows the latest commit of its tracked branch instead of the one recorded.
  if (fs.existsSync(path.join(dir, '.gitmodules')) && !(await step('Update submodules', async () => {
    await git('submodule', 'sync', '--recursive', '--quiet');
    await git('submodule', 'update', '--init', '--recursive', '--force', '--quiet', ...(project.scm_track_submodules ? ['--remote'] : []));
    return await git('submodule', 'status', '--recursive');
  }))) return null;
  return revision;
}

/**
 * A job's own checkout of `branch` (a branch, tag or commit the project's last update
 * fetched), for a job whose template or launch overrides the project's branch
 * (allow_override): a repository borrowing the project clone's objects, its refs fetched,
 * that revision checked out into `dest`. Returns `dest`. The branch is checked as the
 * update checks it; hooks are off; nothing is fetched from the network.
 */
export async function checkoutBranch(projectCheckout: string, branch: string, dest: string): Promise<string> {
  const { scm_branch: wanted } = checkScmFields({ scm_url: '/', scm_branch: branch, scm_refspec: '' });
  fs.mkdirSync(dest, { recursive: true });
  const git = async (...args: string[]) => (await exec('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'protocol.allow=never',
    '-c', 'protocol.file.allow=always', ...args], { cwd: dest, maxBuffer: 10 << 20 })).stdout.trim();
  await git('init', '--quiet');
  fs.writeFileSync(path.join(dest, '.git', 'objects', 'info', 'alternates'), `${path.join(projectCheckout, '.git', 'objects')}\n`);
  await git('fetch', '--quiet', '--no-tags', '--', path.join(projectCheckout, '.git'), '+refs/remotes/origin/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*');
  for (const ref of [`origin/${wanted}`, `refs/tags/${wanted}`, wanted]) {
    const revision = await git('rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`).catch(() => '');
    if (revision) {
      await git('checkout', '--quiet', '--force', '--detach', revision);
      return dest;
    }
  }
  throw new PlaystreamError('PS_ERR_VALIDATION', `scm_branch "${branch}" is not in the project's last update: update the project`);
}

/**
 * A git ref name as `git check-ref-format` allows it (plus `*` for refspec patterns), never
 * mistaken for an option: no leading '-', no whitespace or control characters, none of
 * ~ ^ : ? [ \, no '..', '@{', '//', no component starting with '.' or ending in '.lock'.
 */
function refNameProblem(name: string): string | null {
  if (!name) return 'is empty';
  if (name.startsWith('-')) return 'starts with "-"';
  if (/[\x00-\x20\x7f~^:?[\\]/.test(name)) return 'holds a character git does not allow in a ref (space, control, ~ ^ : ? [ \\)';
  if (/\.\.|@\{|\/\//.test(name) || name === '@') return 'holds "..", "@{" or "//"';
  if (name.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock')) || name.endsWith('/') || name.endsWith('.')) {
    return 'has a component starting with "." or ending in ".lock", or ends with "/" or "."';
  }
  return null;
}

/**
 * The user-typed values a project update hands git, checked before git runs; a problem
 * refuses the update (status error, the field and the reason in job_explanation), as a
 * value that can only do harm should be refused, not trimmed into something else.
 * - scm_url: http(s), ssh, git or file URL, scp-like `user@host:path`, or an absolute path;
 *   never `-...` (an option) or a `<helper>::` transport;
 * - scm_refspec: space-separated `[+]<src>[:<dst>]`, each side a ref name (refNameProblem)
 *   or a commit id;
 * - scm_branch: a ref name or commit id.
 */
export function checkScmFields(f: { scm_url: string; scm_branch: string; scm_refspec: string }): { scm_branch: string; refspecs: string[] } {
  const refuse = (field: string, why: string): never => {
    throw new PlaystreamError('PS_ERR_VALIDATION', `${field} ${JSON.stringify(field === 'scm_url' ? f.scm_url : field === 'scm_branch' ? f.scm_branch : f.scm_refspec)} is refused: ${why}`);
  };
  const url = f.scm_url ?? '';
  if (!url) refuse('scm_url', 'it is empty');
  if (url.startsWith('-')) refuse('scm_url', 'it starts with "-" (git would read an option)');
  if (/[\x00-\x1f\x7f]/.test(url)) refuse('scm_url', 'it holds control characters');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme ? !['http', 'https', 'ssh', 'git', 'file', 'git+ssh', 'ssh+git'].includes(scheme)
    : /^[A-Za-z0-9+.-]+::/.test(url) || !(url.startsWith('/') || /^[^/:]+:/.test(url))) {
    refuse('scm_url', 'expected an http(s), ssh, git or file URL, user@host:path, or an absolute path');
  }
  const branch = f.scm_branch ?? '';
  const branchProblem = branch && !/^[0-9a-f]{7,64}$/i.test(branch) ? refNameProblem(branch) : null;
  if (branchProblem) refuse('scm_branch', `it ${branchProblem}`);
  const refspecs = String(f.scm_refspec ?? '').split(/\s+/).filter(Boolean);
  for (const spec of refspecs) {
    const [src, dst, ...more] = spec.replace(/^\+/, '').split(':');
    if (more.length) refuse('scm_refspec', `"${spec}" has more than one ":"`);
    for (const side of dst === undefined ? [src] : [src, dst]) {
      const problem = /^[0-9a-f]{7,64}$/i.test(side) ? null : refNameProblem(side.replace('*', 'x'));
      if (problem || (side.match(/\*/g)?.length ?? 0) > 1) refuse('scm_refspec', `"${spec}": "${side}" ${problem ?? 'has more than one "*"'}`);
    }
  }
  return { scm_branch: branch, refspecs };
}
