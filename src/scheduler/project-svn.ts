import fs from 'node:fs';
import path from 'node:path';
import { PlaystreamError } from '../errors.js';
import { binaries, findBinary } from '../services/system-packages.js';
import { emptyDirectory, type SourceFetch } from './project-source.js';

/**
 * An svn project's update, as AWX's project_update.yml runs the subversion module: a checkout
 * of `scm_url` at revision `scm_branch` (a revision number, or HEAD when empty) into the
 * project directory, or an update of the checkout there; `scm_clean` reverts local changes
 * and removes unversioned files first (the module's `force`); the revision recorded is the
 * working copy's revision number. A checkout of another URL is replaced by a fresh one.
 * svn runs in the update's sandbox like git, non-interactive, with a configuration directory
 * of its own in the private data dir (no ~/.subversion, no cached passwords, no tunnel
 * commands from a config), the credential's username as `--username` and its password on
 * stdin (`--password-from-stdin`), never on the command line.
 */
const SVN_SCHEMES = ['http', 'https', 'svn', 'svn+ssh', 'file'];

export function checkSvnFields(f: { scm_url: string; scm_branch: string }): { scm_branch: string; refspecs: string[] } {
  const url = f.scm_url ?? '';
  const refuse = (field: string, value: string, why: string): never => {
    throw new PlaystreamError('PS_ERR_VALIDATION', `${field} ${JSON.stringify(value)} is refused: ${why}`);
  };
  if (!url) refuse('scm_url', url, 'it is empty');
  if (/[\x00-\x20\x7f]/.test(url)) refuse('scm_url', url, 'it holds spaces or control characters');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (!scheme || !SVN_SCHEMES.includes(scheme)) refuse('scm_url', url, `expected an ${SVN_SCHEMES.join(', ')} URL`);
  const branch = f.scm_branch ?? '';
  if (branch && !/^(\d{1,12}|HEAD)$/i.test(branch)) refuse('scm_branch', branch, 'an svn revision is a number or HEAD');
  return { scm_branch: branch, refspecs: [] };
}

export async function fetchSvn({ dir, project, plan, auth, privateDir, step, run }: SourceFetch): Promise<string | null> {
  if (!findBinary(binaries.svn)) {
    await step('Update project using svn', async () => { throw new Error('svn not found on PATH: install the Debian package subversion'); });
    return null;
  }
  const configDir = path.join(privateDir, 'svn-config');
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const common = ['--non-interactive', '--no-auth-cache', '--config-dir', configDir,
    ...(auth.username ? ['--username', auth.username] : []), ...(auth.password ? ['--password-from-stdin'] : [])];
  const svn = (sub: string, ...args: string[]) => run('svn', [sub, ...common, ...args], auth.password ? { input: `${auth.password}\n` } : {});
  const revision = (plan.scm_branch || 'HEAD').toUpperCase() === 'HEAD' ? 'HEAD' : plan.scm_branch;
  let checkout = fs.existsSync(path.join(dir, '.svn'));
  if (checkout) {
    const current = await svn('info', '--show-item', 'url', '--', dir).catch(() => '');
    if (current.replace(/\/+$/, '') !== String(project.scm_url).replace(/\/+$/, '')) checkout = false;
  }
  if (checkout) {
    if (project.scm_clean && !(await step('Clean local changes', async () => {
      await svn('revert', '--recursive', '--quiet', '--', dir);
      await svn('cleanup', '--remove-unversioned', '--', dir);
      return 'clean';
    }))) return null;
    if (!(await step('Update project using svn', async () => {
      await svn('update', '--quiet', '--accept', 'theirs-full', '--revision', revision, '--', dir);
      return project.scm_url;
    }))) return null;
  } else if (!(await step('Check out project using svn', async () => {
    emptyDirectory(dir);
    await svn('checkout', '--quiet', '--revision', revision, '--', project.scm_url, dir);
    return project.scm_url;
  }))) return null;
  let rev = '';
  if (!(await step('Set the svn repository version', async () => {
    rev = await svn('info', '--show-item', 'revision', '--', dir);
    if (!/^\d+$/.test(rev)) throw new Error(`svn info answered no revision (${rev.slice(0, 80)})`);
    return rev;
  }))) return null;
  return rev;
}
