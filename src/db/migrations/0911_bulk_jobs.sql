-- A workflow job made by POST /api/v2/bulk/job_launch/ (issue #15; AWX's WorkflowJob.is_bulk_job):
-- no template, its nodes given in the request. AWX's WorkflowJobAccess lets its launcher and
-- the admins of its organization read it.
ALTER TABLE unified_jobs ADD COLUMN is_bulk_job boolean NOT NULL DEFAULT false;
