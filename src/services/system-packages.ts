import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { MissingBinaryError } from '../errors.js';
import { log } from '../log.js';

/**
 * The system binaries Playstream runs, the Debian package that ships each, and where to
 * look besides PATH. `ensureBinaries` installs what is missing with apt-get when we are
 * root on Debian (and auto-install is on); otherwise it throws MissingBinaryError naming
 * the exact package.
 */
export interface SystemBinary {
  name: string;
  debianPackage: string;
  extraDirs?: () => string[];
}

export const binaries = {
  postgres: { name: 'postgres', debianPackage: 'postgresql', extraDirs: postgresBinDirs },
  initdb: { name: 'initdb', debianPackage: 'postgresql', extraDirs: postgresBinDirs },
  redisServer: { name: 'redis-server', debianPackage: 'redis-server' },
  git: { name: 'git', debianPackage: 'git' },
  ansiblePlaybook: { name: 'ansible-playbook', debianPackage: 'ansible-core' },
  ansibleRunner: { name: 'ansible-runner', debianPackage: 'python3-ansible-runner' },
  chromium: { name: 'chromium', debianPackage: 'chromium' },
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

/** Returns the absolute path of each binary, installing missing ones where allowed. */
export function ensureBinaries<K extends string>(
  wanted: Record<K, SystemBinary>,
  options: { autoInstall: boolean },
): Record<K, string> {
  const missing = (Object.values(wanted) as SystemBinary[]).filter((b) => !findBinary(b));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((b) => b.debianPackage))];
    if (options.autoInstall && canAptInstall()) {
      aptInstall(packages);
    }
  }
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
