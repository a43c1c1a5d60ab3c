-- Workflow approvals (issue #14; AWX's WorkflowApprovalTemplate and WorkflowApproval).
--
-- An approval template is a unified job template (the shared id sequence) that only a
-- workflow node points at; its job, kind 'workflow_approval', waits in `pending` (never
-- placed on an instance) until someone with the approval role approves it (successful) or
-- denies it (failed), or until `timeout` seconds after it was created, when the task
-- manager fails it with timed_out set.

ALTER TABLE unified_jobs DROP CONSTRAINT unified_jobs_kind_check;
ALTER TABLE unified_jobs ADD CONSTRAINT unified_jobs_kind_check
  CHECK (kind IN ('job', 'project_update', 'inventory_update', 'ad_hoc_command', 'system_job', 'workflow_job', 'workflow_approval'));
ALTER TABLE unified_jobs
  ADD COLUMN timed_out                boolean NOT NULL DEFAULT false,
  ADD COLUMN approved_or_denied_by_id bigint REFERENCES users ON DELETE SET NULL;
CREATE INDEX unified_jobs_pending_approvals_idx ON unified_jobs (id) WHERE kind = 'workflow_approval' AND status = 'pending';

CREATE TABLE workflow_approval_templates (
  id          bigint PRIMARY KEY DEFAULT nextval('unified_job_template_id_seq'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description text NOT NULL DEFAULT '',
  timeout     integer NOT NULL DEFAULT 0 CHECK (timeout >= 0),
  status      text NOT NULL DEFAULT 'never updated',
  last_job_id bigint,
  last_job_run timestamptz,
  last_job_failed boolean NOT NULL DEFAULT false,
  created     timestamptz NOT NULL DEFAULT now(),
  modified    timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER workflow_nodes_forget_template AFTER DELETE ON workflow_approval_templates
  FOR EACH ROW EXECUTE FUNCTION workflow_nodes_forget_template();
CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON workflow_approval_templates
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON workflow_approval_templates
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
