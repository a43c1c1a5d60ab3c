import { jobKinds } from './job-kinds.js';

/**
 * The hourly partitions of the event tables, named as ensure_event_partitions (migration 0001)
 * makes them: `<table>_YYYYMMDD_HH` for the UTC hour of the job's creation.
 */
export const EVENT_TABLES = [...new Set(Object.values(jobKinds).map((k) => k.eventTable))];

const HOUR_SUFFIX = /_(\d{4})(\d{2})(\d{2})_(\d{2})$/;

/** The start of the hour a partition holds, from its name; undefined for a table of another name. */
export function partitionHour(name: string): Date | undefined {
  const m = HOUR_SUFFIX.exec(name);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4])) : undefined;
}

/** The partition of `table` holding the events of a job created at `jobCreated`. */
export function partitionName(table: string, jobCreated: Date): string {
  return `${table}_${jobCreated.toISOString().slice(0, 13).replace(/-/g, '').replace('T', '_')}`;
}
