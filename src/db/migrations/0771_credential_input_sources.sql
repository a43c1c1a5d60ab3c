-- Credential input sources (AWX's CredentialInputSource, issue #16): a field of one credential
-- (the target) filled when a job starts from an external lookup credential (the source, of a
-- credential type of kind `external`) with the lookup's metadata (the secret's path, key...).
-- The value looked up is never stored: src/security/credential-plugins.ts fetches it for the
-- one job and the job's redactor keeps it out of job_args, job_env and stdout.
CREATE TABLE credential_input_sources (
  id                   bigserial PRIMARY KEY,
  description          text NOT NULL DEFAULT '',
  target_credential_id bigint NOT NULL REFERENCES credentials ON DELETE CASCADE,
  source_credential_id bigint NOT NULL REFERENCES credentials ON DELETE CASCADE,
  input_field_name     text NOT NULL CHECK (length(input_field_name) BETWEEN 1 AND 1024),
  metadata             jsonb NOT NULL DEFAULT '{}',
  created              timestamptz NOT NULL DEFAULT now(),
  modified             timestamptz NOT NULL DEFAULT now(),
  UNIQUE (target_credential_id, input_field_name),
  CHECK (target_credential_id <> source_credential_id)
);
CREATE INDEX credential_input_sources_source_idx ON credential_input_sources (source_credential_id);

CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON credential_input_sources
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON credential_input_sources
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
