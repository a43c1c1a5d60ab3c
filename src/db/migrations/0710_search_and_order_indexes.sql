-- List indexes, second round (issue #13; measured in docs/benchmarks.md "## API").
--
-- 1. `?search=` looks in names and descriptions (AWX's SEARCH_FIELDS), an OR of ILIKEs: with
--    a trigram index on only one side the OR reads the whole table (609 ms over 1,000,000
--    jobs). With both sides indexed it is a BitmapOr of two index scans.
-- 2. The orderings of /jobs/ and /unified_jobs/ (finished, created, started, name, status)
--    carry the columns a member's read condition tests (access.ts unifiedJobRead) and the
--    status filters, so a member's page is filtered inside the index instead of fetching
--    every job it passes over: five fetches per visible job for a member who sees a fifth
--    (a member's 400th page by name: 244 ms, 5,700 buffers read). `started` had no index
--    at all (2.7 s a page under load).
CREATE INDEX unified_jobs_description_trgm_idx ON unified_jobs USING gin (description gin_trgm_ops);
CREATE INDEX hosts_description_trgm_idx ON hosts USING gin (description gin_trgm_ops);

DROP INDEX unified_jobs_kind_finished_idx, unified_jobs_kind_created_idx, unified_jobs_kind_name_idx,
  unified_jobs_finished_idx, unified_jobs_created_id_idx, unified_jobs_name_idx, unified_jobs_status_id_idx;
CREATE INDEX unified_jobs_kind_finished_idx ON unified_jobs (kind, finished, id)
  INCLUDE (status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_kind_created_idx ON unified_jobs (kind, created, id)
  INCLUDE (status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_kind_started_idx ON unified_jobs (kind, started, id)
  INCLUDE (status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_kind_name_idx ON unified_jobs (kind, name, id)
  INCLUDE (status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_finished_idx ON unified_jobs (finished, id)
  INCLUDE (kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_created_id_idx ON unified_jobs (created, id)
  INCLUDE (kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_started_idx ON unified_jobs (started, id)
  INCLUDE (kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_name_idx ON unified_jobs (name, id)
  INCLUDE (kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_status_id_idx ON unified_jobs (status, id)
  INCLUDE (kind, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);

-- 3. The names jobs have had. A job's name is its template's, so a million jobs carry a few
--    hundred names. A pattern on job names (`name__icontains`, `?search=`) is matched against
--    these, and the jobs are then found by equality on (kind, name, id), written
--    `name = ANY(ARRAY(...))` (an IN subquery is planned as a join estimated at half the
--    table). Through the trigram index it was 45-600 ms: posting lists of trigrams every job
--    name shares, then a recheck of each matching job. The trigram index on job names goes
--    (the planner would use it for that equality, at its cost). Names are only ever added: a
--    name no job has any more matches no job, so the lookup stays exact (src/api/engine/
--    filter.ts, `vocabulary`).
CREATE TABLE unified_job_names (value text PRIMARY KEY);
DROP INDEX unified_jobs_name_trgm_idx;
INSERT INTO unified_job_names SELECT DISTINCT name FROM unified_jobs;

CREATE FUNCTION unified_job_names_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO unified_job_names SELECT DISTINCT name FROM new_rows ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER unified_job_names_insert AFTER INSERT ON unified_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_job_names_track();

CREATE FUNCTION unified_job_names_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO unified_job_names VALUES (NEW.name) ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER unified_job_names_update AFTER UPDATE OF name ON unified_jobs
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION unified_job_names_renamed();
