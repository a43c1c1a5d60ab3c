-- Credentials a schedule gives its launches (issue #15; AWX's LaunchTimeConfig.credentials,
-- /api/v2/schedules/N/credentials/). Like a launch's `credentials` prompt they replace the
-- template's credentials, and only where the template has ask_credential_on_launch
-- (src/scheduler/schedule-prompts.ts). The other prompts live in schedules.launch_prompts.
CREATE TABLE schedule_credentials (
  schedule_id   bigint NOT NULL REFERENCES schedules ON DELETE CASCADE,
  credential_id bigint NOT NULL REFERENCES credentials ON DELETE CASCADE,
  PRIMARY KEY (schedule_id, credential_id)
);
CREATE INDEX schedule_credentials_credential_idx ON schedule_credentials (credential_id);
-- The API read cache's change triggers (migration 0400), which every table it may read carries:
-- without them the web process finds a table it cannot watch and keeps its cache off.
CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON schedule_credentials
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON schedule_credentials
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
