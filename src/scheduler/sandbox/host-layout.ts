import fs from 'node:fs';
import path from 'node:path';

/**
 * The parts of the host a sandbox shows, read from the host itself:
 * - the top-level program and library paths (/bin, /lib64, ...): on a merged-/usr system
 *   (Debian 12) they are symlinks into /usr and are recreated as the same symlinks; older
 *   layouts have real directories, bound read-only;
 * - /etc, read-only, minus every entry an unprivileged user could not read (not readable,
 *   or a directory not searchable, by "others"): /etc/shadow, /etc/gshadow, SSH host keys,
 *   /etc/ssl/private, /etc/redis (redis.conf holds requirepass), Postgres' pg_hba.conf,
 *   keytabs, VPN keys. Jobs run as the controller's user, root here, for whom mode bits do
 *   not protect root-owned files; "what a stranger could not read" is the rule that finds
 *   these without a list that would always miss one;
 * - /etc/resolv.conf's target when it lives outside /etc and /usr (systemd-resolved's
 *   stub under /run), so names still resolve.
 * Walking /etc costs 18-65 ms here (1,211 entries, Debian 12 on 2 shared cores), so the
 * result is kept for a minute per process: a secret file created in /etc is hidden from
 * jobs that start at most that long after it appears.
 */
export interface HostLayout {
  /** [target, path]: `path` is a symlink to `target` on the host and in the sandbox. */
  rootLinks: [string, string][];
  /** Real top-level directories bound read-only at the same path. */
  rootDirs: string[];
  /** Entries of /etc hidden in the sandbox: directories behind an empty tmpfs, files behind /dev/null. */
  hiddenEtc: { path: string; dir: boolean }[];
  /** Files outside /etc and /usr that the sandbox binds read-only where they are (resolv.conf's target). */
  extraFiles: string[];
}

const ROOT_PATHS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const CACHE_MS = 60_000;

let cached: { at: number; layout: HostLayout } | null = null;

export function hostLayout(now = Date.now()): HostLayout {
  if (cached && now - cached.at < CACHE_MS) return cached.layout;
  const layout: HostLayout = { rootLinks: [], rootDirs: [], hiddenEtc: unreadableEntries('/etc'), extraFiles: [] };
  for (const p of ROOT_PATHS) {
    let st: fs.Stats;
    try { st = fs.lstatSync(p); } catch { continue; }
    if (st.isSymbolicLink()) layout.rootLinks.push([fs.readlinkSync(p), p]);
    else if (st.isDirectory()) layout.rootDirs.push(p);
  }
  try {
    const resolv = fs.realpathSync('/etc/resolv.conf');
    if (!isUnder(resolv, '/etc') && !isUnder(resolv, '/usr')) layout.extraFiles.push(resolv);
  } catch { /* no resolver configuration: names will not resolve in jobs either way */ }
  cached = { at: now, layout };
  return layout;
}

/** Entries under `root` that "others" may not read (files) or enter (directories); hidden directories are not walked. */
export function unreadableEntries(root: string): { path: string; dir: boolean }[] {
  const out: { path: string; dir: boolean }[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (e.isSymbolicLink()) continue;
      const p = path.join(dir, e.name);
      let mode: number;
      try { mode = fs.lstatSync(p).mode; } catch { continue; }
      if (e.isDirectory()) {
        if ((mode & 0o005) !== 0o005) out.push({ path: p, dir: true });
        else walk(p);
      } else if (e.isFile() && (mode & 0o004) === 0) {
        out.push({ path: p, dir: false });
      }
    }
  };
  walk(root);
  return out;
}

export function isUnder(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
