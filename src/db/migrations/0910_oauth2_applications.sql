-- OAuth 2 applications and the tokens issued through them (issue #15; AWX's
-- OAuth2Application, OAuth2AccessToken, RefreshToken and Grant). Every secret is kept as
-- its SHA-256 only, as api_tokens already is: client secrets, refresh tokens and
-- authorization codes are 30+ random bytes, so a hash without salt or stretching is as
-- strong as the value, and a database dump yields nothing usable.
CREATE TABLE oauth2_applications (
  id                       bigserial PRIMARY KEY,
  name                     text NOT NULL,
  description              text NOT NULL DEFAULT '',
  organization_id          bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
  client_id                text NOT NULL UNIQUE,
  client_secret_hash       text,
  client_type              text NOT NULL CHECK (client_type IN ('confidential', 'public')),
  redirect_uris            text NOT NULL DEFAULT '',
  authorization_grant_type text NOT NULL CHECK (authorization_grant_type IN ('password', 'authorization-code')),
  skip_authorization       boolean NOT NULL DEFAULT false,
  created                  timestamptz NOT NULL DEFAULT now(),
  modified                 timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, organization_id)
);

-- A token of an application goes with it (AWX: on_delete CASCADE).
ALTER TABLE api_tokens ADD COLUMN application_id bigint REFERENCES oauth2_applications ON DELETE CASCADE;
CREATE INDEX ON api_tokens (application_id);
-- AWX's scope is a space-separated set of `read` and `write`, each at most once.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scope_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scope_check CHECK (scope IN ('read', 'write', 'read write', 'write read'));

-- One refresh token per application token; it dies with its access token (a password
-- change deletes the user's tokens, migration 0500, and so their refresh tokens), and is
-- used once: a refresh deletes the old access token with it.
CREATE TABLE oauth2_refresh_tokens (
  id              bigserial PRIMARY KEY,
  token_hash      text NOT NULL UNIQUE,
  access_token_id bigint NOT NULL UNIQUE REFERENCES api_tokens ON DELETE CASCADE,
  application_id  bigint NOT NULL REFERENCES oauth2_applications ON DELETE CASCADE,
  user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  created         timestamptz NOT NULL DEFAULT now()
);

-- Authorization codes of the authorization-code grant: used once, within 600 s (AWX's
-- AUTHORIZATION_CODE_EXPIRE_SECONDS).
CREATE TABLE oauth2_grants (
  code_hash      text PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES oauth2_applications ON DELETE CASCADE,
  user_id        bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  redirect_uri   text NOT NULL,
  scope          text NOT NULL,
  expires        timestamptz NOT NULL
);

CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON oauth2_applications
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON oauth2_applications
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON oauth2_refresh_tokens
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON oauth2_refresh_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON oauth2_grants
  FOR EACH ROW EXECUTE FUNCTION api_cache_notify();
CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON oauth2_grants
  FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify();
