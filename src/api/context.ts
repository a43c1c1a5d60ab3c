import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import type { SecretBox } from '../security/secrets.js';

/** What every API handler may use; built once per web process. */
export interface ApiContext {
  config: Config;
  pool: Pool;
  redis: Redis;
  secrets: SecretBox;
}
