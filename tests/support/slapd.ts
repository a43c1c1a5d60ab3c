import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '../../src/services/free-port.js';
import { stopChild } from '../../src/services/child-process.js';
import { binaries, findBinary } from '../../src/services/system-packages.js';

/**
 * A real OpenLDAP server (Debian's `slapd`, installed by scripts/install-system-packages.sh
 * and `playstream install-deps --tests`) for one test file: its own config file and mdb
 * database in a temporary directory, loaded offline with slapadd from `ldif`, listening on a
 * free loopback port. `stop()` ends it (the LDAP-down case); `start()` brings it back.
 */
export interface Slapd {
  url: string;
  suffix: string;
  rootDn: string;
  rootPassword: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startSlapd(ldif: string, suffix = 'dc=example,dc=com'): Promise<Slapd> {
  const slapd = findBinary(binaries.slapd);
  if (!slapd) throw new Error('slapd not found: apt-get install -y slapd (scripts/install-system-packages.sh)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-slapd-'));
  const rootDn = `cn=admin,${suffix}`;
  const rootPassword = 'slapd-root-secret';
  fs.mkdirSync(path.join(dir, 'data'));
  const conf = path.join(dir, 'slapd.conf');
  fs.writeFileSync(conf, [
    ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include /etc/ldap/schema/${s}.schema`),
    `pidfile ${dir}/slapd.pid`, 'modulepath /usr/lib/ldap', 'moduleload back_mdb',
    'database mdb', `suffix "${suffix}"`, `rootdn "${rootDn}"`, `rootpw ${rootPassword}`, `directory ${dir}/data`,
    'access to attrs=userPassword by self read by anonymous auth by * none',
    'access to * by * read', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'data.ldif'), ldif);
  execFileSync(path.join(path.dirname(slapd), 'slapadd'), ['-f', conf, '-l', path.join(dir, 'data.ldif')], { stdio: 'pipe' });
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(slapd, ['-f', conf, '-h', `${url}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c) => { stderr += c; });
    try {
      await waitForPort(port, '127.0.0.1', 20_000);
    } catch (err) {
      throw new Error(`slapd did not start: ${stderr}`, { cause: err });
    }
  };
  await start();
  return {
    url, suffix, rootDn, rootPassword, start,
    stop: async () => { if (child) await stopChild(child, 'SIGTERM', 5_000); child = undefined; },
  };
}

/** An LDIF entry's lines for `dn` with attributes (a list value repeats the attribute). */
export function ldifEntry(dn: string, attrs: Record<string, string | string[]>): string {
  const lines = [`dn: ${dn}`];
  for (const [k, v] of Object.entries(attrs)) for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  return `${lines.join('\n')}\n\n`;
}
