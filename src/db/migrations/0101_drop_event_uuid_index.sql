-- The (job_id, job_created, uuid) index on the event tables does not earn its place on the
-- ingest path: random uuids land all over its leaf pages, and `psql \copy` of 100,000
-- ~1 KB fixture rows into job_events measured 38–54k rows/s with it and 58–107k without
-- (one connection; 30–46k vs 95–129k with two), same machine, same moment (2 cores, load
-- ~9). Its readers do not need it:
--   - wrapup's failed/changed propagation to parents runs once per job, at stream
--     completion; it reads the job's rows through the (job_id, job_created, counter)
--     index and matches parent_uuid to uuid with a hash join, linear in the job's size;
--   - the REST `?uuid=` / `?parent_uuid=` filters scan one job's rows through the same
--     index (parent_uuid never had an index of its own).
-- Every other reader (websocket resume, events list, stdout) goes by counter.
DROP INDEX IF EXISTS job_events_job_uuid_idx;
DROP INDEX IF EXISTS project_update_events_job_uuid_idx;
DROP INDEX IF EXISTS inventory_update_events_job_uuid_idx;
DROP INDEX IF EXISTS ad_hoc_command_events_job_uuid_idx;
DROP INDEX IF EXISTS system_job_events_job_uuid_idx;
