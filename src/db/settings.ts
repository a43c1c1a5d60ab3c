import type pg from 'pg';

/**
 * A value of /api/v2/settings/ as the code it governs reads it: the stored override, or the
 * caller's default (AWX's). One query per read: the settings a job reads are read once per job.
 */
export async function readSetting<T>(db: Pick<pg.Pool, 'query'>, key: string, fallback: T, accept: (v: unknown) => boolean): Promise<T> {
  const { rows } = await db.query<{ value: unknown }>('SELECT value FROM api_settings WHERE key = $1', [key]);
  return rows.length && accept(rows[0].value) ? rows[0].value as T : fallback;
}

export const isWholeNumber = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * SQL that is true while a boolean setting is on, for a statement to read the setting itself
 * (no round trip): on unless stored as the opposite of its AWX default `fallback`. `key` is a
 * constant of the caller's, never input.
 */
export function settingOnSql(key: string, fallback: boolean): string {
  return `coalesce((SELECT value FROM api_settings WHERE key = '${key}'), '${fallback}'::jsonb) ${fallback ? `<> 'false'` : `= 'true'`}::jsonb`;
}
