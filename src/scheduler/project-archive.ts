import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { PlaystreamError } from '../errors.js';
import type { ScmAuth } from './scm-credential.js';
import type { SourceFetch } from './project-source.js';

/**
 * An archive project's update, as AWX's project_update.yml (get_url, then its project_archive
 * action): the `.tar`/`.tar.gz`/`.tgz`/`.tar.bz2`/`.tar.xz` or `.zip` at `scm_url` is
 * downloaded (HTTP basic auth with the credential's username and password, redirects followed
 * within http/https, at most MAX_BYTES), its sha1 is the revision; when it changed, or with
 * `scm_clean`, it is unpacked into the project directory, a single top-level directory
 * stripped. As AWX, a file the directory already holds is kept unless `scm_clean` (then the
 * archive's copy replaces it); `scm_delete_on_update` empties the directory first.
 * Unpacking runs in the update's sandbox (tar, or Python's zipfile), into the private data
 * dir, and the copy into the checkout too (`cp`), so an archive's `..` names or symlinks reach
 * nothing outside what the sandbox shows it. Only http and https URLs: a file:// archive would
 * read the controller's own files.
 */
const MAX_BYTES = 512 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export function checkArchiveUrl(url: string): string {
  let parsed: URL;
  try { parsed = new URL(url); } catch { throw new PlaystreamError('PS_ERR_VALIDATION', `scm_url ${JSON.stringify(url)} is refused: not a URL`); }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PlaystreamError('PS_ERR_VALIDATION', `scm_url ${JSON.stringify(url)} is refused: an archive is fetched over http or https`);
  }
  if (parsed.username || parsed.password) {
    throw new PlaystreamError('PS_ERR_VALIDATION', `scm_url ${JSON.stringify(url)} is refused: give the user and password in a Source Control credential`);
  }
  return url;
}

function download(url: string, dest: string, auth: ScmAuth, deadline: number, redirects = 0): Promise<void> {
  const parsed = new URL(checkArchiveUrl(url));
  const lib = parsed.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = {};
  if (auth.username || auth.password) headers.Authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  const timeout = deadline ? Math.max(1, deadline - Date.now()) : 0;
  return new Promise((resolve, reject) => {
    const req = lib.get(parsed, { headers, timeout: timeout || undefined }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) { reject(new Error(`more than ${MAX_REDIRECTS} redirects`)); return; }
        download(new URL(res.headers.location, parsed).toString(), dest, auth, deadline, redirects + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) { res.resume(); reject(new Error(`HTTP Error ${status}: ${res.statusMessage ?? ''}`.trim())); return; }
      const out = fs.createWriteStream(dest, { mode: 0o600 });
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BYTES) req.destroy(new Error(`archive larger than ${MAX_BYTES / 1024 / 1024} MiB`));
      });
      res.pipe(out);
      out.on('finish', () => resolve());
      out.on('error', reject);
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('download timed out')));
    req.on('error', reject);
  });
}

export async function fetchArchive({ dir, project, auth, privateDir, deadline, step, run }: SourceFetch): Promise<string | null> {
  const file = path.join(privateDir, 'archive');
  let sha1 = '';
  if (!(await step('Get archive from url', async () => {
    await download(project.scm_url, file, auth, deadline);
    sha1 = createHash('sha1').update(fs.readFileSync(file)).digest('hex');
    return `${project.scm_url} (sha1 ${sha1})`;
  }))) return null;
  const unchanged = sha1 === project.scm_revision && fs.readdirSync(dir).length > 0;
  if (unchanged && !project.scm_clean) {
    await step('Unpack archive', async () => 'unchanged: not unpacked');
    return sha1;
  }
  if (!(await step('Unpack archive', async () => {
    const staging = path.join(privateDir, 'unpacked');
    fs.mkdirSync(staging, { recursive: true, mode: 0o700 });
    const head = Buffer.alloc(4);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    if (head.equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])) || head.equals(Buffer.from([0x50, 0x4b, 0x05, 0x06]))) {
      await run('python3', ['-m', 'zipfile', '-e', file, staging], { cwd: privateDir });
    } else {
      await run('tar', ['-x', '-f', file, '-C', staging, '--no-same-owner', '--no-same-permissions'], { cwd: privateDir })
        .catch((err) => { throw new Error(`${project.scm_url} is not a valid archive: ${String(err.stderr || err.message).trim()}`); });
    }
    // Most archives hold one directory (project-1.0.0/): the project is what it holds.
    const top = fs.readdirSync(staging, { withFileTypes: true });
    const root = top.length === 1 && top[0].isDirectory() ? path.join(staging, top[0].name) : staging;
    await run('cp', ['-R', '--preserve=mode,timestamps', '--no-dereference', project.scm_clean ? '--remove-destination' : '--no-clobber', '--', `${root}/.`, `${dir}/`], { cwd: privateDir });
    return `${fs.readdirSync(root).length} entries`;
  }))) return null;
  return sha1;
}
