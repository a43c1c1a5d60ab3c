-- Execution environments (AWX's ExecutionEnvironment, api/resources/execution-environments.ts).
-- An EE without an image is the host sandbox (scheduler/sandbox/): the one seeded here, managed
-- and global, is what a job runs in when nothing names another (scheduler/execution-environment.ts).
-- Every other EE names a container image, which this controller cannot run (no container
-- runtime works here): a job resolved to one errors at start, saying so.
CREATE TABLE execution_environments (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL,
  description     text NOT NULL DEFAULT '',
  organization_id bigint REFERENCES organizations ON DELETE CASCADE,
  image           text NOT NULL DEFAULT '',
  managed         boolean NOT NULL DEFAULT false,
  credential_id   bigint REFERENCES credentials ON DELETE SET NULL,
  pull            text NOT NULL DEFAULT '' CHECK (pull IN ('', 'always', 'missing', 'never')),
  created         timestamptz NOT NULL DEFAULT now(),
  modified        timestamptz NOT NULL DEFAULT now(),
  CHECK (managed OR image <> '')
);
CREATE INDEX execution_environments_organization ON execution_environments (organization_id);
-- The API read cache forgets what it answered when the table changes (migration 0400).
CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON execution_environments
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON execution_environments
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();

INSERT INTO execution_environments (name, description, image, managed)
VALUES ('Playstream host sandbox', 'Runs ansible-runner on the controller host inside the bubblewrap job sandbox (no container image).', '', true);

ALTER TABLE organizations ADD COLUMN default_environment_id bigint REFERENCES execution_environments ON DELETE SET NULL;
ALTER TABLE projects ADD COLUMN default_environment_id bigint REFERENCES execution_environments ON DELETE SET NULL;
ALTER TABLE job_templates ADD COLUMN execution_environment_id bigint REFERENCES execution_environments ON DELETE SET NULL;
ALTER TABLE unified_jobs ADD COLUMN execution_environment_id bigint REFERENCES execution_environments ON DELETE SET NULL;
