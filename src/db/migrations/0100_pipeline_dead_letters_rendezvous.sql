-- The callback receiver's tables and the columns of its rendezvous with the scheduler.
--
-- Dead letters: events the receiver could not store (invalid JSON, no job reference, an
-- unknown job, a field of the wrong type). The raw payload is kept as bytes, exactly as it
-- sat in Redis (it may hold invalid UTF-8 or NULs), with the reason and a stable code.
CREATE TABLE dead_letters (
  id         bigserial PRIMARY KEY,
  created    timestamptz NOT NULL DEFAULT now(),
  node       text NOT NULL DEFAULT '',
  code       text NOT NULL,
  reason     text NOT NULL,
  job_id     bigint,
  payload    bytea NOT NULL
);
CREATE INDEX dead_letters_created_idx ON dead_letters (created DESC);

-- Rendezvous of the two triggers of final notifications (seed 002): the scheduler saving
-- the final status, the receiver processing the wrapup event. Both lock the job row; the
-- second to arrive flips notifications_decided and inserts the `notifications` rows.
--   wrapup_processed: playbook_on_stats (or EOF, for kinds without a playbook) stored.
--   eof_received:     the producer's EOF arrived; emitted_events then holds final_counter.
ALTER TABLE unified_jobs
  ADD COLUMN wrapup_processed      boolean NOT NULL DEFAULT false,
  ADD COLUMN eof_received          boolean NOT NULL DEFAULT false,
  ADD COLUMN notifications_decided boolean NOT NULL DEFAULT false;

-- stream_complete: EOF arrived and all final_counter events are stored (computed by the
-- receiver under the job's row lock, so the last of several concurrent workers sees it).
-- event_processing_finished = stream_complete AND the final status is saved.
ALTER TABLE unified_jobs ADD COLUMN stream_complete boolean NOT NULL DEFAULT false;

-- A replayed batch that had committed must not record its dead letters twice: replays
-- skip a payload whose hash is already there (a rare exact duplicate pushed by a producer
-- is then kept once, which loses nothing an admin needs to see).
ALTER TABLE dead_letters ADD COLUMN payload_sha256 bytea NOT NULL DEFAULT '';
CREATE INDEX dead_letters_payload_idx ON dead_letters (payload_sha256);
