-- AWX's JobOptions.force_handlers (issue #15): a template's `ansible-playbook --force-handlers`,
-- copied to each job it launches. It was accepted by the API, ignored, and not stored.
ALTER TABLE job_templates ADD COLUMN force_handlers boolean NOT NULL DEFAULT false;
ALTER TABLE unified_jobs ADD COLUMN force_handlers boolean NOT NULL DEFAULT false;
