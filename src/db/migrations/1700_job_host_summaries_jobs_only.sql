-- Until now the receiver also wrote host summaries (and hosts' last job) for project updates
-- and ad hoc commands. AWX writes them for jobs only: JobHostSummary.job and Host.last_job are
-- foreign keys to Job, and the API links them to /api/v2/jobs/N/, which a project update is
-- not. Drop those rows and point each host they touched back at its latest job's summary.
CREATE TEMP TABLE touched_hosts ON COMMIT DROP AS
  SELECT h.id FROM hosts h JOIN unified_jobs j ON j.id = h.last_job_id WHERE j.kind <> 'job';
DELETE FROM job_host_summaries s USING unified_jobs j WHERE j.id = s.job_id AND j.kind <> 'job';
UPDATE hosts h SET last_job_id = l.job_id, last_job_host_summary_id = l.id
  FROM touched_hosts t LEFT JOIN LATERAL (
    SELECT s.id, s.job_id FROM job_host_summaries s WHERE s.host_id = t.id ORDER BY s.id DESC LIMIT 1) l ON true
  WHERE h.id = t.id;
