import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/services/free-port.js';
import { packageRoot } from '../../src/paths.js';
import { alive, descendants } from '../support/processes.js';

/**
 * `playstream start` exactly as the README runs it (embedded Postgres and Redis, no URLs
 * configured): it prints the console URL and login, answers ping, and SIGTERM leaves no
 * Postgres, Redis or node process behind. A second start keeps the data of the first. A
 * role that crashes, or hangs with its pid alive, is replaced.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'playstream-start-'));
fs.chmodSync(dataDir, 0o755);
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function start(port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), PLAYSTREAM_DATA_DIR: dataDir, PLAYSTREAM_ADMIN_PASSWORD: 'first-start-pw' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.SECRET_KEY;
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/playstream.js'), 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const deadline = Date.now() + 60_000;
  while (!out.includes('Console:')) {
    if (child.exitCode !== null) throw new Error(`start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`no console URL within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out };
}

function isWeb(pid: number): boolean {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('\0web'); } catch { return false; }
}

function webPidOf(supervisor: number): number {
  const pid = descendants(supervisor).find(isWeb);
  if (!pid) throw new Error('no web process under the supervisor');
  return pid;
}

async function stop(child: ChildProcess): Promise<number> {
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  child.kill('SIGTERM');
  return exited;
}

describe('playstream start', () => {
  it('prints the URL and login, serves ping, stops everything on SIGTERM, and keeps data across starts', async () => {
    const port = await freePort();
    const first = await start(port);
    expect(first.output()).toContain(`Console:   http://127.0.0.1:${port}/`);
    expect(first.output()).toContain('admin / the password in PLAYSTREAM_ADMIN_PASSWORD');

    const ping = await fetch(`http://127.0.0.1:${port}/api/v2/ping/`);
    expect(ping.status).toBe(200);
    const auth = { authorization: `Basic ${Buffer.from('admin:first-start-pw').toString('base64')}` };
    expect((await fetch(`http://127.0.0.1:${port}/api/v2/me/`, { headers: auth })).status).toBe(200);

    const pids = descendants(first.child.pid!);
    const names = pids.map((p) => { try { return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim(); } catch { return ''; } });
    expect(names.filter((n) => n === 'node').length).toBeGreaterThanOrEqual(3);
    expect(names).toContain('postgres');
    expect(names.some((n) => n.startsWith('redis-server'))).toBe(true);

    expect(await stop(first.child)).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(pids.filter(alive)).toEqual([]);

    const second = await start(port);
    expect(second.output()).toContain('admin / the password set on first start');
    expect(second.output()).not.toContain('applied migration');
    expect((await fetch(`http://127.0.0.1:${port}/api/v2/me/`, { headers: auth })).status).toBe(200);
    const secondPids = descendants(second.child.pid!);
    expect(await stop(second.child)).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(secondPids.filter(alive)).toEqual([]);
  }, 180_000);

  it('restarts a process that stops answering health pings (a blocked event loop keeps its pid)', async () => {
    const port = await freePort();
    const { child, output } = await start(port);
    try {
      const webPid = webPidOf(child.pid!);
      // SIGSTOP freezes the web process as an endless loop would: its pid stays, nothing answers.
      process.kill(webPid, 'SIGSTOP');
      const stoppedAt = Date.now();
      expect(await fetch(`http://127.0.0.1:${port}/api/v2/ping/`, { signal: AbortSignal.timeout(1000) }).then(() => 'answered', () => 'silent'))
        .toBe('silent');
      // 3 missed pings 5 s apart, the 1 s restart backoff, the new process's start-up.
      let newPid: number | undefined;
      while (Date.now() - stoppedAt < 40_000 && !newPid) {
        await new Promise((r) => setTimeout(r, 250));
        const pid = descendants(child.pid!).find((p) => isWeb(p) && p !== webPid);
        if (pid && await fetch(`http://127.0.0.1:${port}/api/v2/ping/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false)) newPid = pid;
      }
      expect(newPid).toBeDefined();
      expect(alive(webPid)).toBe(false);
      expect(output()).toMatch(/process not answering health pings; killing it role=web/);
      expect(output()).toMatch(/process exited; restarting role=web code=null signal=SIGKILL/);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 120_000);

  it('restarts a crashed process', async () => {
    const port = await freePort();
    const { child, output } = await start(port);
    try {
      const webPid = webPidOf(child.pid!);
      process.kill(webPid, 'SIGKILL');
      const deadline = Date.now() + 20_000;
      let ok = false;
      while (Date.now() < deadline && !ok) {
        await new Promise((r) => setTimeout(r, 250));
        ok = await fetch(`http://127.0.0.1:${port}/api/v2/ping/`).then((r) => r.status === 200, () => false)
          && descendants(child.pid!).every((p) => p !== webPid);
      }
      expect(ok).toBe(true);
      expect(output()).toMatch(/process exited; restarting role=web/);
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 120_000);
});
