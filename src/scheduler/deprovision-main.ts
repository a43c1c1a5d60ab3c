import { loadConfig } from '../config.js';
import { createPool } from '../db/pool.js';
import { PlaystreamError } from '../errors.js';
import { setProcessName } from '../log.js';
import { createRedis } from '../runtime.js';
import { deprovisionInstance } from './cluster.js';

/**
 * `playstream deprovision NAME`: removes one instance from the cluster (cluster.ts
 * deprovisionInstance) and says what became of its jobs. Status messages for the jobs it
 * reaps or puts back go out on the broadcast bus when REDIS_URL is set, so websocket
 * clients see them like any other status change.
 */
export async function runDeprovision(args: string[]): Promise<void> {
  setProcessName('deprovision');
  const hostname = args.find((a) => !a.startsWith('-'));
  if (!hostname || args.length !== 1) throw new PlaystreamError('PS_ERR_VALIDATION', 'usage: playstream deprovision NAME');
  const config = loadConfig();
  if (!config.databaseUrl) throw new PlaystreamError('PS_ERR_CONFIG', 'deprovision needs DATABASE_URL');
  const pool = createPool(config.databaseUrl, { max: 2, name: 'deprovision' });
  const redis = config.redisUrl ? createRedis(config.redisUrl, 'deprovision') : undefined;
  try {
    const released = await deprovisionInstance(pool, redis ? { redis, config } : undefined, hostname);
    if (!released) throw new PlaystreamError('PS_ERR_NOT_FOUND', `no instance named ${hostname}`);
    process.stdout.write(`deprovisioned ${hostname}: ${released.replaced.length} queued job(s) placed again, `
      + `${released.reaped.length} running job(s) reaped\n`);
  } finally {
    redis?.disconnect();
    await pool.end();
  }
}
