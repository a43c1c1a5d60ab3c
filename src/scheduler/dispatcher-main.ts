import os from 'node:os';
import { log } from '../log.js';
import { version } from '../paths.js';
import { createRuntime, reportReady } from '../runtime.js';

/** `playstream dispatcher`: registers this node as an instance and heartbeats. */
export async function runDispatcher(): Promise<void> {
  const rt = await createRuntime('dispatcher');
  const beat = () => rt.pool.query(
    `INSERT INTO instances (hostname, node_type, version, cpu, memory, last_seen, node_state)
     VALUES ($1, 'hybrid', $2, $3, $4, now(), 'ready')
     ON CONFLICT (hostname) DO UPDATE SET last_seen = now(), version = $2, cpu = $3, memory = $4, node_state = 'ready', modified = now()`,
    [rt.config.nodeName, version, os.cpus().length, os.totalmem()]);
  await beat();
  const timer = setInterval(() => beat().catch((err) => log.warn('heartbeat failed', { err })), rt.config.heartbeatSeconds * 1000);
  rt.onShutdown(() => clearInterval(timer));
  log.info('dispatcher ready', { node: rt.config.nodeName });
  reportReady();
}
