/**
 * SQL for a timestamptz as ISO 8601 UTC text with microseconds (`2026-11-27T13:36:07.123456Z`):
 * the form job_created takes in the event tables' partition keys and COPY rows, and the
 * one the API and the broadcast write. Postgres renders it, so no precision is lost to a
 * JavaScript Date.
 */
export function isoUtcSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
