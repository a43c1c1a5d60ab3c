-- Workflow notifications (issue #14; AWX's WorkflowJobTemplate notification_templates_started,
-- _success, _error and _approvals).
--
-- A workflow job template's attachments live with every other template's; its workflow jobs
-- notify on start (the workflow pass moves them to running) and on their final status (the
-- pipeline's rendezvous, as any job). An approval's notifications (AWX's
-- send_approval_notification: needs review, approved, denied, timed out) come from the
-- `approvals` attachments of its workflow's template and organization; approval_status
-- marks them, their subject and body rendered when made, from the template's
-- `workflow_approval` messages.
ALTER TABLE notification_template_attachments DROP CONSTRAINT notification_template_attachments_resource_type_check;
ALTER TABLE notification_template_attachments ADD CONSTRAINT notification_template_attachments_resource_type_check
  CHECK (resource_type IN ('job_template', 'project', 'inventory_source', 'organization', 'system_job_template', 'workflow_job_template'));

ALTER TABLE notifications ADD COLUMN approval_status text CHECK (approval_status IN ('running', 'approved', 'timed_out', 'denied'));

-- A deleted workflow job template's attachments go with it (its id is never reused: one sequence).
CREATE FUNCTION workflow_template_forget_attachments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM notification_template_attachments WHERE resource_type = 'workflow_job_template' AND resource_id = OLD.id;
  RETURN NULL;
END $$;
CREATE TRIGGER workflow_template_forget_attachments AFTER DELETE ON workflow_job_templates
  FOR EACH ROW EXECUTE FUNCTION workflow_template_forget_attachments();
