-- GitHub and GitLab webhooks on workflow job templates (issue #14; AWX's WebhookTemplateMixin
-- on WorkflowJobTemplate), received as a job template's are (src/api/routes/webhooks.ts): the
-- template's key, sealed with the SECRET_KEY box. The delivery that launched a workflow job
-- is kept on it (unified_jobs.webhook_service/webhook_guid, migration 0740).
ALTER TABLE workflow_job_templates ADD COLUMN webhook_key text NOT NULL DEFAULT '';
