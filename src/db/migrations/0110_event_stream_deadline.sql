-- Every job finishes processing its events (issue #18). A job whose producer died having
-- announced more events than it sent (or died before its EOF) used to keep
-- event_processing_finished false for good. The receiver now closes such a stream once the
-- job has been final for PLAYSTREAM_EVENT_WAIT_SECONDS (src/pipeline/stream-deadline.ts)
-- and records the gap here: counters announced (final_counter, or the highest stored) less
-- the events stored. A late event lowers it again (wrapup.ts recounts).
ALTER TABLE unified_jobs ADD COLUMN events_missing integer NOT NULL DEFAULT 0;

-- The sweep's candidates: final jobs still processing. Tiny, whatever the table's size.
CREATE INDEX unified_jobs_processing_unfinished ON unified_jobs (finished)
  WHERE NOT event_processing_finished AND status IN ('successful', 'failed', 'error', 'canceled');
