-- Job slicing (issue #14; AWX's job_slice_count). A job template launched with an effective
-- slice count N > 1 (its job_slice_count, at most its inventory's enabled hosts) becomes a
-- workflow job (is_sliced_job, unified_job_template_id naming the job template) of N root
-- nodes, each a job of the same template with job_slice_number 1..N of job_slice_count N,
-- which runs against every Nth host of the inventory ordered by name, from the slice's own.
ALTER TABLE unified_jobs
  ADD COLUMN job_slice_number integer NOT NULL DEFAULT 0,
  ADD COLUMN job_slice_count  integer NOT NULL DEFAULT 1,
  ADD COLUMN is_sliced_job    boolean NOT NULL DEFAULT false;
