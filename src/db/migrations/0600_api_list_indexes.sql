-- Lists whose cost follows the page (issue #13; src/api/engine/crud.ts, list-count.ts).
--
-- 1. Indexes in the orders the console and awx.awx ask for. The list engine sorts a column
--    as Django does on Postgres (ASC NULLS LAST / DESC NULLS FIRST) with `id` in the first
--    key's direction as the tie-break, so each (column, id) index serves `?order_by=x` read
--    forwards and `?order_by=-x` read backwards, and the page's ids come from the first
--    OFFSET + LIMIT entries of one index. /jobs/, /project_updates/, ... carry `kind =`
--    first; /unified_jobs/ has its own. The (kind, id) index includes the columns the
--    read condition of a non-admin reads (access.ts unifiedJobRead), so their deep
--    pages are index-only too.
-- 2. pg_trgm GIN indexes for `name__icontains` and `?search=` on the big tables.
-- 3. unified_job_counts: the number of jobs per (kind, status, failed, organization,
--    template, inventory, launcher), kept by statement-level triggers that append deltas
--    (insert-only: concurrent writers never wait on each other); the API folds the deltas
--    now and then (list-count.ts). A count whose conditions read only these columns is a
--    sum over a few thousand rows whatever the number of jobs.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX unified_jobs_kind_id_idx ON unified_jobs (kind, id)
  INCLUDE (status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_kind_created_idx ON unified_jobs (kind, created, id);
CREATE INDEX unified_jobs_kind_finished_idx ON unified_jobs (kind, finished, id);
CREATE INDEX unified_jobs_kind_name_idx ON unified_jobs (kind, name, id);
CREATE INDEX unified_jobs_kind_status_idx ON unified_jobs (kind, status, id);
CREATE INDEX unified_jobs_kind_template_idx ON unified_jobs (kind, unified_job_template_id, id);
CREATE INDEX unified_jobs_kind_launched_by_idx ON unified_jobs (kind, created_by_id, id);
CREATE INDEX unified_jobs_kind_inventory_idx ON unified_jobs (kind, inventory_id, id);

CREATE INDEX unified_jobs_id_rbac_idx ON unified_jobs (id)
  INCLUDE (kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id);
CREATE INDEX unified_jobs_created_id_idx ON unified_jobs (created, id);
CREATE INDEX unified_jobs_finished_idx ON unified_jobs (finished, id);
CREATE INDEX unified_jobs_name_idx ON unified_jobs (name, id);
CREATE INDEX unified_jobs_status_id_idx ON unified_jobs (status, id);
CREATE INDEX unified_jobs_launched_by_idx ON unified_jobs (created_by_id, id);
CREATE INDEX unified_jobs_inventory_idx ON unified_jobs (inventory_id, id);
CREATE INDEX unified_jobs_name_trgm_idx ON unified_jobs USING gin (name gin_trgm_ops);

CREATE INDEX hosts_name_trgm_idx ON hosts USING gin (name gin_trgm_ops);
CREATE INDEX hosts_name_id_idx ON hosts (name, id);
CREATE INDEX job_templates_name_trgm_idx ON job_templates USING gin (name gin_trgm_ops);

CREATE TABLE unified_job_counts (
  kind                    text NOT NULL,
  status                  text NOT NULL,
  failed                  boolean NOT NULL,
  organization_id         bigint,
  unified_job_template_id bigint,
  inventory_id            bigint,
  created_by_id           bigint,
  n                       bigint NOT NULL
);

CREATE FUNCTION unified_job_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO unified_job_counts
      SELECT kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id, count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6, 7;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO unified_job_counts
      SELECT kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id, -count(*)
        FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6, 7;
  ELSE
    INSERT INTO unified_job_counts
      SELECT kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id, sum(d)
        FROM (SELECT kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id, 1 AS d FROM new_rows
              UNION ALL
              SELECT kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id, -1 FROM old_rows) x
       GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(d) <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER unified_job_counts_insert AFTER INSERT ON unified_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_job_counts_track();
CREATE TRIGGER unified_job_counts_update AFTER UPDATE ON unified_jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_job_counts_track();
CREATE TRIGGER unified_job_counts_delete AFTER DELETE ON unified_jobs
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION unified_job_counts_track();

-- TRUNCATE unified_jobs (tests) empties the counts with it.
CREATE FUNCTION unified_job_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM unified_job_counts;
  RETURN NULL;
END $$;
CREATE TRIGGER unified_job_counts_truncate AFTER TRUNCATE ON unified_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION unified_job_counts_truncate();

-- Folds the deltas into one row per group. Safe beside writers and other folders: the
-- DELETE takes the rows its snapshot sees and the INSERT puts back their sums in the same
-- transaction; rows committed meanwhile stay as they are.
CREATE FUNCTION fold_unified_job_counts() RETURNS void LANGUAGE sql AS $$
  WITH moved AS (DELETE FROM unified_job_counts RETURNING *)
  INSERT INTO unified_job_counts
    SELECT kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id, sum(n)
      FROM moved GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0;
$$;

INSERT INTO unified_job_counts
  SELECT kind, status, failed, organization_id, unified_job_template_id, inventory_id, created_by_id, count(*)
    FROM unified_jobs GROUP BY 1, 2, 3, 4, 5, 6, 7;
