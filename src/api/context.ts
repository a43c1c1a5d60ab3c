import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import type { SecretBox } from '../security/secrets.js';
import type { ReadCache } from './cache/read-cache.js';

/** What every API handler may use; built once per web process. */
export interface ApiContext {
  config: Config;
  pool: Pool;
  redis: Redis;
  secrets: SecretBox;
  /** The web server's read cache (cache/read-cache.ts); absent elsewhere, and when turned off. */
  readCache?: ReadCache;
}
