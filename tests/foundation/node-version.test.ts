import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * `npm start` (bin/playstream.js) refuses a Node version outside package.json's `engines`
 * before loading anything: on another major the websocket server's native build is missing
 * and it would run, silently, on a slow JavaScript fallback. PLAYSTREAM_TEST_NODE_VERSION
 * stands in for the running version.
 */
const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8'));

function run(args: string[], version?: string): { status: number | null; stdout: string; stderr: string } {
  // An unparsable PORT makes a `start` that got past the check stop at once (config error)
  // instead of starting a controller here; the assertions tell the two exits apart.
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: 'not-a-port' };
  if (version) env.PLAYSTREAM_TEST_NODE_VERSION = version;
  const r = spawnSync(process.execPath, [path.join(packageRoot, 'bin/playstream.js'), ...args], { env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('supported Node versions', () => {
  it('declares Node 20 (the majors the native websocket build exists for, narrowed by undici 7) and npm start runs the checked entry', () => {
    expect(pkg.engines.node).toBe('^20.18.1');
    expect(pkg.scripts.start).toBe('node bin/playstream.js start');
  });

  it.each(['22.11.0', '18.20.4', '21.7.3', '20.10.0'])('refuses to start on Node %s, naming the supported range', (version) => {
    const r = run(['start'], version);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`playstream needs Node.js ${pkg.engines.node} (package.json engines); this is Node.js ${version}.`);
    expect(r.stdout).toBe('');
  });

  it('runs on a supported version', () => {
    expect(run(['version'], '20.18.1')).toMatchObject({ status: 0, stdout: `${pkg.version}\n` });
    expect(run(['version'])).toMatchObject({ status: 0, stdout: `${pkg.version}\n` });
  });
});
