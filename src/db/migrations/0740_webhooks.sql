-- GitHub and GitLab webhooks on job templates (issue #16; src/api/routes/webhooks.ts): the
-- service a template listens to and its key (sealed with the SECRET_KEY box: it signs or
-- is the token of every delivery), and on each job the delivery that launched it, so a
-- delivery sent twice launches once.
ALTER TABLE job_templates ADD COLUMN webhook_service text NOT NULL DEFAULT '' CHECK (webhook_service IN ('', 'github', 'gitlab'));
ALTER TABLE job_templates ADD COLUMN webhook_key text NOT NULL DEFAULT '';
ALTER TABLE unified_jobs ADD COLUMN webhook_service text NOT NULL DEFAULT '';
ALTER TABLE unified_jobs ADD COLUMN webhook_guid text NOT NULL DEFAULT '';
CREATE INDEX unified_jobs_webhook_guid_idx ON unified_jobs (unified_job_template_id, webhook_guid) WHERE webhook_guid <> '';
