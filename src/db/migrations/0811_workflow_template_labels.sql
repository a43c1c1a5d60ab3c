-- Labels of workflow job templates (issue #14; AWX's WorkflowJobTemplate.labels), kept as a
-- job template's are; a copy of the template carries them.
CREATE TABLE workflow_job_template_labels (
  workflow_job_template_id bigint NOT NULL REFERENCES workflow_job_templates ON DELETE CASCADE,
  label_id                 bigint NOT NULL REFERENCES labels ON DELETE CASCADE,
  PRIMARY KEY (workflow_job_template_id, label_id)
);
CREATE INDEX workflow_job_template_labels_label_idx ON workflow_job_template_labels (label_id);
CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON workflow_job_template_labels
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON workflow_job_template_labels
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
