import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/services/free-port.js';
import { onCleanup, type TestEnv } from '../support/harness.js';
import { alive, descendants } from '../support/processes.js';
import { cliBundle } from '../scheduler/support.js';

/**
 * Cluster nodes as separate machines would run them, simulated on this one: each node is a
 * `playstream start` of this file's CLI bundle with its own PLAYSTREAM_DATA_DIR (its own
 * disk: projects, job dirs), its own PLAYSTREAM_NODE_NAME and PLAYSTREAM_NODE_TYPE, and, where
 * it serves the web, its own PORT; all share the test's Postgres database, Redis (and key
 * prefix) and SECRET_KEY, as the machines of a cluster share them (docs/cluster.md).
 */
export interface ClusterNode {
  name: string;
  type: 'hybrid' | 'control' | 'execution';
  dataDir: string;
  /** The web's base URL; null on an execution node. */
  url: string | null;
  child: ChildProcess;
  output(): string;
}

export async function startNode(t: TestEnv, name: string, type: ClusterNode['type'], env: NodeJS.ProcessEnv = {}): Promise<ClusterNode> {
  const dataDir = path.join(t.dataDir, `node-${name}`);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const port = type === 'execution' ? null : await freePort();
  const child = spawn(process.execPath, [cliBundle(), 'start'], {
    env: { ...t.env, ...env, PLAYSTREAM_DATA_DIR: dataDir, PLAYSTREAM_NODE_NAME: name, PLAYSTREAM_NODE_TYPE: type,
      ...(port ? { PORT: String(port) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
    if (process.env.PS_TEST_DEBUG) process.stderr.write(`[${name}] ${d}`);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const node: ClusterNode = { name, type, dataDir, url: port ? `http://127.0.0.1:${port}` : null, child, output: () => out };
  onCleanup(async () => { await killNode(node); });
  const deadline = Date.now() + 90_000;
  while (!out.includes('Playstream is running')) {
    if (child.exitCode !== null) throw new Error(`node ${name} exited ${child.exitCode}:\n${out.slice(-5000)}`);
    if (Date.now() > deadline) throw new Error(`node ${name} not running within 90 s:\n${out.slice(-5000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return node;
}

/**
 * A machine lost at once: SIGKILL to the node's whole process tree (supervisor, web,
 * receiver, dispatcher, its workers, their runners and playbooks) at the same moment, so
 * nothing gets to say goodbye. Returns the pids killed.
 */
export async function killNode(node: ClusterNode): Promise<number[]> {
  const root = node.child.pid;
  if (!root || !alive(root)) return [];
  const pids = [root, ...descendants(root)];
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return pids;
}
