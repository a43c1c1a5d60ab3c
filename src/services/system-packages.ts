import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { MissingBinaryError } from '../errors.js';
import { log } from '../log.js';

/**
 * The system binaries Playstream runs, the Debian package that ships each, and where to
 * look besides PATH. `ensureBinaries` installs what is missing with apt-get when we are
 * root on Debian (and auto-install is on); otherwise it throws MissingBinaryError naming
 * the exact package. The embedded services cannot do without theirs, so start-up stops;
 * the execution path's (`executionBinaries`) only decide whether a node can run jobs, so
 * a node missing them still starts, with capacity 0 and the reason in its `errors`.
 */
export interface SystemBinary {
  name: string;
  debianPackage: string;
  extraDirs?: () => string[];
  /** Found only in extraDirs, as a file or directory (a Python library, an Ansible collection), never on PATH. */
  notOnPath?: boolean;
}

export const binaries = {
  postgres: { name: 'postgres', debianPackage: 'postgresql', extraDirs: postgresBinDirs },
  initdb: { name: 'initdb', debianPackage: 'postgresql', extraDirs: postgresBinDirs },
  redisServer: { name: 'redis-server', debianPackage: 'redis-server' },
  git: { name: 'git', debianPackage: 'git' },
  ansiblePlaybook: { name: 'ansible-playbook', debianPackage: 'ansible-core' },
  ansibleRunner: { name: 'ansible-runner', debianPackage: 'python3-ansible-runner' },
  bwrap: { name: 'bwrap', debianPackage: 'bubblewrap' },
  chromium: { name: 'chromium', debianPackage: 'chromium' },
  svn: { name: 'svn', debianPackage: 'subversion' },
  slapd: { name: 'slapd', debianPackage: 'slapd', extraDirs: () => ['/usr/sbin'] },
  // What the awx.awx client tests run besides programs: the collection, and pytz and dateutil for its schedule_rrule lookup.
  awxCollection: { name: 'awx', debianPackage: 'ansible', extraDirs: () => ['/usr/lib/python3/dist-packages/ansible_collections'], notOnPath: true },
  pytz: { name: 'pytz', debianPackage: 'python3-tz', extraDirs: () => ['/usr/lib/python3/dist-packages'], notOnPath: true },
  dateutil: { name: 'dateutil', debianPackage: 'python3-dateutil', extraDirs: () => ['/usr/lib/python3/dist-packages'], notOnPath: true },
} satisfies Record<string, SystemBinary>;

/**
 * The one list of what a node runs to execute jobs: ansible-runner (which starts
 * ansible-playbook), git for project updates, and bwrap for the job sandbox. `start`,
 * `dispatcher`, `install-deps` and scripts/install-system-packages.sh install all of them.
 */
export const executionBinaries = {
  ansibleRunner: binaries.ansibleRunner,
  ansiblePlaybook: binaries.ansiblePlaybook,
  git: binaries.git,
  bwrap: binaries.bwrap,
} satisfies Record<string, SystemBinary>;

/**
 * Programs only some project updates run (svn for `scm_type: svn`): installed with the
 * execution binaries, but a node without them still runs jobs; the update that needs one
 * errors naming its package (describeMissingBinaries).
 */
export const projectSourceBinaries = {
  svn: binaries.svn,
} satisfies Record<string, SystemBinary>;

/** Newest Postgres first: /usr/lib/postgresql/<major>/bin. */
export function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => `${root}/${v}/bin`);
}

export function findBinary(bin: SystemBinary): string | undefined {
  for (const dir of bin.extraDirs?.() ?? []) {
    const candidate = `${dir}/${bin.name}`;
    if (fs.existsSync(candidate)) return candidate;
  }
  if (bin.notOnPath) return undefined;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = `${dir}/${bin.name}`;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

function canAptInstall(): boolean {
  return process.getuid?.() === 0 && fs.existsSync('/etc/debian_version') && fs.existsSync('/usr/bin/apt-get');
}

let aptUpdated = false;

function aptInstall(packages: string[]): void {
  log.info('installing system packages', { packages: packages.join(' ') });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
}

/**
 * Installs the packages of the binaries not found, where allowed (root on Debian, auto-install
 * on); never throws: an apt-get that fails is logged, and the caller sees what is still missing.
 */
export function installMissing(wanted: SystemBinary[], options: { autoInstall: boolean }): void {
  const missing = wanted.filter((b) => !findBinary(b));
  if (!missing.length || !options.autoInstall || !canAptInstall()) return;
  try {
    aptInstall([...new Set(missing.map((b) => b.debianPackage))]);
  } catch (err) {
    log.error('apt-get install failed', { err });
  }
}

/** Returns the absolute path of each binary, installing missing ones where allowed. */
export function ensureBinaries<K extends string>(
  wanted: Record<K, SystemBinary>,
  options: { autoInstall: boolean },
): Record<K, string> {
  installMissing(Object.values(wanted) as SystemBinary[], options);
  const out = {} as Record<K, string>;
  for (const [key, bin] of Object.entries(wanted) as [K, SystemBinary][]) {
    const found = findBinary(bin);
    if (!found) {
      throw new MissingBinaryError(bin.name, bin.debianPackage,
        canAptInstall() ? 'apt-get install failed or auto-install is off' : 'not root on Debian, so not installed automatically');
    }
    out[key] = found;
  }
  return out;
}

/** The execution binaries a job needs that this process cannot find (a few stat calls: cheap enough for every heartbeat). */
/** The programs jobs need that cannot be found; bwrap only while the job sandbox is on. */
export function missingExecutionBinaries(opts: { sandbox: boolean } = { sandbox: true }): SystemBinary[] {
  return Object.values(executionBinaries).filter((b) => (opts.sandbox || b !== binaries.bwrap) && !findBinary(b));
}

/**
 * What a node missing programs writes into its instance's `errors` (AWX's field for why an
 * instance has no capacity), which the task manager repeats in the explanation of the jobs
 * it holds: each program and its Debian package, and the command that fixes it.
 */
export function describeMissingBinaries(missing: SystemBinary[]): string {
  const packages = [...new Set(missing.map((b) => b.debianPackage))];
  return `cannot run jobs: ${missing.map((b) => `${b.name} (Debian package ${b.debianPackage})`).join(', ')} not found`
    + ` on PATH; install with \`apt-get install -y ${packages.join(' ')}\``;
}
