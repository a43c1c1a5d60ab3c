-- `?failed=true` and `?event=runner_on_failed` on a job's events (the console's "failed
-- only", AWX's failure filters) walked every event of the job in counter order to find the
-- few that failed: 170-240 ms a page of a stored 1,000,000-event job (docs/benchmarks.md).
-- Like the header index (1100), a partial index holds those rows only: failures are rare,
-- so ingest pays a predicate test per row and an index entry per failure. `failed = true`
-- and `event = 'runner_on_failed'` (or `event = ANY(...)` of failure events) are each proven
-- to imply the predicate on custom plans; the failure events are event-types.ts's. The index
-- carries `failed` and `event` so the filter is checked in the index: an index-only scan
-- counts and numbers the matches without reading the rows.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['job_events', 'project_update_events'] LOOP
    EXECUTE format($f$CREATE INDEX IF NOT EXISTS %I ON %I (job_id, job_created, counter) INCLUDE (failed, event)
      WHERE failed OR event IN ('runner_on_failed', 'runner_on_error', 'runner_on_unreachable', 'runner_on_async_failed', 'runner_item_on_failed')$f$,
      t || '_failure_idx', t);
  END LOOP;
END $$;
