import type pg from 'pg';
import { isWholeNumber, readSetting } from '../db/settings.js';

/**
 * A job's timeout in seconds (0: none), as AWX's get_instance_timeout decides it: the job's
 * own `timeout` when set, else its kind's global setting (DEFAULT_JOB_TIMEOUT,
 * DEFAULT_PROJECT_UPDATE_TIMEOUT, DEFAULT_INVENTORY_UPDATE_TIMEOUT); a negative own timeout
 * means none. Ad hoc commands and system jobs have no global one.
 */
const GLOBAL_TIMEOUT: Record<string, string> = {
  job: 'DEFAULT_JOB_TIMEOUT', project_update: 'DEFAULT_PROJECT_UPDATE_TIMEOUT', inventory_update: 'DEFAULT_INVENTORY_UPDATE_TIMEOUT',
};

export async function effectiveTimeout(db: Pick<pg.Pool, 'query'>, kind: string, own: number | null | undefined): Promise<number> {
  const local = Number(own ?? 0);
  if (local < 0) return 0;
  if (local > 0 || !GLOBAL_TIMEOUT[kind]) return local;
  return Math.max(0, await readSetting(db, GLOBAL_TIMEOUT[kind], 0, isWholeNumber));
}
