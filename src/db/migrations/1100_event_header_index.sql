-- The output view's play index and section ends (console/src/output/event-store.ts) ask for
-- a job's headers alone: `event__in=playbook_on_play_start,playbook_on_stats` and the next
-- play/task start after a counter. Without an index that is a walk through every event of
-- the job in counter order: ~2.7 s for a stored 1,000,000-line job, the whole of a "Collapse
-- plays" click. A partial index holds only header events (one in ~100 of a typical job's
-- rows; none of the host results), so it costs ingest a predicate test per row and one index
-- entry per play or task, and the lookups read only headers. `event = ANY($n::text[])`, as
-- the API's `__in` lookup writes it, is proven to imply the predicate on custom plans.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['job_events', 'project_update_events'] LOOP
    EXECUTE format($f$CREATE INDEX IF NOT EXISTS %I ON %I (job_id, job_created, counter)
      WHERE event IN ('playbook_on_play_start', 'playbook_on_task_start', 'playbook_on_handler_task_start', 'playbook_on_stats')$f$,
      t || '_header_idx', t);
  END LOOP;
END $$;
