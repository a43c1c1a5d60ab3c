import path from 'node:path';
import { PlaystreamError } from '../../errors.js';
import type { SandboxBind } from './bwrap.js';
import { isUnder } from './host-layout.js';

/**
 * AWX_ISOLATION_SHOW_PATHS (the AWX setting under /api/v2/settings/jobs/): host paths a
 * superuser shows to every job, each `HOST-DIR[:JOB-DIR[:ro|rw]]` as in AWX, read-only unless
 * `rw` is given (AWX's `z`/`Z` SELinux labels are accepted and mean nothing here). This is
 * how a node whose Ansible lives outside /usr (a virtualenv under /opt) or whose playbooks
 * need a host directory lets jobs see it. A path that would show the data dir — the data dir,
 * a directory above it, anything inside it — is refused: the job fails naming the entry,
 * rather than running with the secret key in view.
 */
export function parseShowPaths(value: unknown, dataDir: string): SandboxBind[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw refused(`must be a list of paths, got ${JSON.stringify(value)}`);
  const binds: SandboxBind[] = [];
  for (const entry of value) {
    if (typeof entry !== 'string' || !entry.trim()) throw refused(`${JSON.stringify(entry)} is not a path`);
    const [src, dest = src, mode = 'ro', ...rest] = entry.trim().split(':');
    const options = mode.split(',').filter((o) => o && o !== 'z' && o !== 'Z');
    if (rest.length || options.some((o) => o !== 'ro' && o !== 'rw')) throw refused(`${entry}: expected HOST-DIR[:JOB-DIR[:ro|rw]]`);
    for (const p of [src, dest]) {
      if (!path.isAbsolute(p)) throw refused(`${entry}: ${p} is not an absolute path`);
      const abs = path.resolve(p);
      if (isUnder(dataDir, abs) || isUnder(abs, dataDir)) throw refused(`${entry}: ${p} would show the data dir ${dataDir} to jobs`);
    }
    binds.push({ src: path.resolve(src), dest: path.resolve(dest), writable: options.includes('rw') });
  }
  return binds;
}

function refused(why: string): PlaystreamError {
  return new PlaystreamError('PS_ERR_VALIDATION', `AWX_ISOLATION_SHOW_PATHS: ${why}`);
}
