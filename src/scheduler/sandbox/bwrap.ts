import type { HostLayout } from './host-layout.js';

/**
 * The bubblewrap command line that runs one program of a job sealed (DESIGN.md §5, "Jobs run
 * sealed"). Fresh user, pid, ipc, uts and cgroup namespaces; the network is shared, so SSH to
 * managed hosts, git remotes and `ansible_connection: local` work as before.
 *
 * - `--cap-drop ALL`: the controller runs as root here, and bwrap started by root keeps every
 *   capability inside the new user namespace; with them a job can `mount -o remount,rw` the
 *   read-only /usr bind and write the host's /usr (tried: it works). Dropped, the binds hold.
 * - `--die-with-parent`: a dispatcher worker that dies takes its job's processes with it.
 * - the root is bwrap's own empty tmpfs; only what is listed below is shown: /usr and the
 *   top-level links into it, /etc minus what only root may read, a private /proc (the pid
 *   namespace shows the job's own processes only), a minimal /dev (with /dev/pts for the
 *   runner's pexpect terminal), empty /tmp, /var/tmp and /run.
 * - the data dir is covered by an empty tmpfs (so nothing of it shows even when it lies under
 *   a bound tree such as /usr/local), then the job's own paths are bound over it at the same
 *   absolute paths, so every path the runner, git or ansible-inventory is given stays valid
 *   and the private data dir's `project` symlink resolves to the bound checkout.
 * - `--new-session` for programs started with the controller's own session (git,
 *   ansible-inventory): a job with the operator's terminal could push keystrokes into it
 *   (TIOCSTI). The runner already starts in a session of its own (spawned detached) and
 *   must stay in its process group, so it does not take it.
 * - `--as-pid-1`: the program itself is pid 1, not bwrap's reaper, whose command line (this
 *   whole argument list: the data dir's path, the hidden files' names) every process of the
 *   job could read in /proc/1/cmdline, and which ignores SIGTERM while bwrap forwards no
 *   signal. With `--info-fd` bwrap reports the program's host pid, so a cancel sends the
 *   runner SIGTERM as before: it stops ansible-playbook and writes its final events.
 *   Whatever is left when pid 1 exits dies with its pid namespace. Orphans are not reaped
 *   meanwhile; their zombies last no longer than the job.
 */
export const BWRAP_PROGRAM = 'bwrap';

export interface SandboxBind {
  src: string;
  dest: string;
  writable: boolean;
}

export interface SandboxView {
  /** Paths covered by an empty tmpfs before any bind (the data dir). */
  hidden: string[];
  /** Bound in order, after `hidden`. */
  binds: SandboxBind[];
}

export interface BwrapOptions {
  cwd: string;
  newSession: boolean;
  /** The descriptor on which bwrap reports the program's host pid. */
  infoFd?: number;
}

export function bwrapArgs(layout: HostLayout, view: SandboxView, command: string[], opts: BwrapOptions): string[] {
  const a: string[] = ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent', '--cap-drop', 'ALL', '--as-pid-1'];
  if (opts.newSession) a.push('--new-session');
  if (opts.infoFd !== undefined) a.push('--info-fd', String(opts.infoFd));
  a.push('--ro-bind', '/usr', '/usr');
  for (const [target, p] of layout.rootLinks) a.push('--symlink', target, p);
  for (const d of layout.rootDirs) a.push('--ro-bind', d, d);
  a.push('--ro-bind', '/etc', '/etc');
  for (const h of layout.hiddenEtc) {
    if (h.dir) a.push('--tmpfs', h.path);
    else a.push('--ro-bind', '/dev/null', h.path);
  }
  a.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp', '--tmpfs', '/run');
  for (const f of layout.extraFiles) a.push('--ro-bind-try', f, f);
  for (const h of view.hidden) a.push('--tmpfs', h);
  for (const b of view.binds) a.push(b.writable ? '--bind' : '--ro-bind', b.src, b.dest);
  a.push('--chdir', opts.cwd, '--', ...command);
  return a;
}
