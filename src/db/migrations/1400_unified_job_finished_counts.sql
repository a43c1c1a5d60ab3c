-- The dashboard's job status graph (/api/v2/dashboard/graphs/jobs/, src/api/routes/dashboard.ts)
-- counts finished jobs per day or hour and status over the last month. Read from unified_jobs,
-- that is every job finished in the month: ~150-400 ms at 1,000,000 jobs here, growing with
-- the table. unified_job_finished_counts holds those numbers per hour finished and per the
-- columns the caller's read condition needs (access.ts unifiedJobRead), in the manner of
-- migration 0600's unified_job_counts: statement-level triggers append deltas (insert-only,
-- so concurrent writers never wait on each other), and the API folds them now and then.
-- Only what AWX's graph counts: finished, in a terminal status, not a `sync` launch.
CREATE TABLE unified_job_finished_counts (
  hour                    timestamptz NOT NULL,
  kind                    text NOT NULL,
  status                  text NOT NULL,
  organization_id         bigint,
  unified_job_template_id bigint,
  inventory_id            bigint,
  created_by_id           bigint,
  n                       bigint NOT NULL
);
CREATE INDEX unified_job_finished_counts_hour ON unified_job_finished_counts (hour);

CREATE FUNCTION unified_job_finished_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The hour is truncated in UTC whatever the session's time zone, so a row's delta and its
  -- reversal always land in the same bucket.
  IF TG_OP = 'INSERT' THEN
    INSERT INTO unified_job_finished_counts
      SELECT date_trunc('hour', finished, 'UTC'), kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, count(*)
        FROM new_rows WHERE finished IS NOT NULL AND launch_type <> 'sync' AND status IN ('successful', 'failed', 'error', 'canceled')
       GROUP BY 1, 2, 3, 4, 5, 6, 7;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO unified_job_finished_counts
      SELECT date_trunc('hour', finished, 'UTC'), kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, -count(*)
        FROM old_rows WHERE finished IS NOT NULL AND launch_type <> 'sync' AND status IN ('successful', 'failed', 'error', 'canceled')
       GROUP BY 1, 2, 3, 4, 5, 6, 7;
  ELSE
    -- Most updates (events counted, elapsed, a running job's fields) change nothing counted:
    -- their old and new rows cancel out and nothing is written.
    INSERT INTO unified_job_finished_counts
      SELECT hour, kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, sum(d)
        FROM (SELECT date_trunc('hour', finished, 'UTC') AS hour, kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, 1 AS d
                FROM new_rows WHERE finished IS NOT NULL AND launch_type <> 'sync' AND status IN ('successful', 'failed', 'error', 'canceled')
              UNION ALL
              SELECT date_trunc('hour', finished, 'UTC'), kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, -1
                FROM old_rows WHERE finished IS NOT NULL AND launch_type <> 'sync' AND status IN ('successful', 'failed', 'error', 'canceled')) x
       GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(d) <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER unified_job_finished_counts_insert AFTER INSERT ON unified_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_job_finished_counts_track();
CREATE TRIGGER unified_job_finished_counts_update AFTER UPDATE ON unified_jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_job_finished_counts_track();
CREATE TRIGGER unified_job_finished_counts_delete AFTER DELETE ON unified_jobs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_job_finished_counts_track();

CREATE FUNCTION unified_job_finished_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM unified_job_finished_counts;
  RETURN NULL;
END $$;
CREATE TRIGGER unified_job_finished_counts_truncate AFTER TRUNCATE ON unified_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION unified_job_finished_counts_truncate();

-- Folds the deltas into one row per group, as fold_unified_job_counts does (safe beside
-- writers and other folders: the DELETE takes what its snapshot sees, the INSERT puts back
-- their sums in the same transaction).
CREATE FUNCTION fold_unified_job_finished_counts() RETURNS void LANGUAGE sql AS $$
  WITH moved AS (DELETE FROM unified_job_finished_counts RETURNING *)
  INSERT INTO unified_job_finished_counts
    SELECT hour, kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, sum(n)
      FROM moved GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0;
$$;

INSERT INTO unified_job_finished_counts
  SELECT date_trunc('hour', finished, 'UTC'), kind, status, organization_id, unified_job_template_id, inventory_id, created_by_id, count(*)
    FROM unified_jobs WHERE finished IS NOT NULL AND launch_type <> 'sync' AND status IN ('successful', 'failed', 'error', 'canceled')
   GROUP BY 1, 2, 3, 4, 5, 6, 7;
