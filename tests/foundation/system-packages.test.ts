import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { binaries, describeMissingBinaries, executionBinaries, findBinary, missingExecutionBinaries } from '../../src/services/system-packages.js';

/**
 * The one list of system programs: every way of installing them (the install script,
 * install-deps, start's ensure) covers the same packages, and a node finds out which
 * execution programs it lacks from its PATH, naming their Debian packages.
 */
const savedPath = process.env.PATH;
afterEach(() => { process.env.PATH = savedPath; });

describe('system packages', () => {
  it('the install script installs the package of every binary in the list', () => {
    const script = fs.readFileSync(path.join(packageRoot, 'scripts/install-system-packages.sh'), 'utf8');
    for (const bin of Object.values(binaries)) {
      expect(script, bin.name).toMatch(new RegExp(`need\\+=\\(${bin.debianPackage}\\)`));
    }
  });

  it('lists every program the execution path runs, bwrap included', () => {
    expect(Object.values(executionBinaries).map((b) => `${b.name}:${b.debianPackage}`).sort())
      .toEqual(['ansible-playbook:ansible-core', 'ansible-runner:python3-ansible-runner', 'bwrap:bubblewrap', 'git:git']);
  });

  it('names what a PATH without ansible and bwrap lacks (jobs run in the bubblewrap sandbox)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-path-'));
    try {
      fs.symlinkSync(findBinary(binaries.git)!, path.join(dir, 'git'));
      process.env.PATH = dir;
      const missing = missingExecutionBinaries();
      expect(missing.map((b) => b.name)).toEqual(['ansible-runner', 'ansible-playbook', 'bwrap']);
      expect(describeMissingBinaries(missing)).toBe('cannot run jobs: ansible-runner (Debian package python3-ansible-runner), '
        + 'ansible-playbook (Debian package ansible-core), bwrap (Debian package bubblewrap) not found on PATH; '
        + 'install with `apt-get install -y python3-ansible-runner ansible-core bubblewrap`');
      process.env.PATH = savedPath;
      expect(missingExecutionBinaries()).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
