-- The API's tables: AWX's object roles and their holders, login sessions, bearer tokens,
-- the settings store. Roles are created lazily per object (one row per object and role
-- field, the first time the object is serialized or granted), so objects inserted by the
-- seed or other parts need no hook.

CREATE TABLE rbac_roles (
  id            bigserial PRIMARY KEY,
  resource_type text NOT NULL,
  resource_id   bigint NOT NULL,
  role_field    text NOT NULL,
  UNIQUE (resource_type, resource_id, role_field)
);

CREATE TABLE rbac_role_users (
  role_id bigint NOT NULL REFERENCES rbac_roles ON DELETE CASCADE,
  user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  PRIMARY KEY (role_id, user_id)
);
CREATE INDEX ON rbac_role_users (user_id);

CREATE TABLE rbac_role_teams (
  role_id bigint NOT NULL REFERENCES rbac_roles ON DELETE CASCADE,
  team_id bigint NOT NULL REFERENCES teams ON DELETE CASCADE,
  PRIMARY KEY (role_id, team_id)
);
CREATE INDEX ON rbac_role_teams (team_id);

-- Every role a user holds: directly, or through a team whose member (or admin) role they hold.
CREATE VIEW rbac_user_roles AS
  SELECT ru.user_id, r.id AS role_id, r.resource_type, r.resource_id, r.role_field
    FROM rbac_role_users ru JOIN rbac_roles r ON r.id = ru.role_id
  UNION
  SELECT tu.user_id, r.id, r.resource_type, r.resource_id, r.role_field
    FROM rbac_role_teams rt
    JOIN rbac_roles r ON r.id = rt.role_id
    JOIN rbac_roles tr ON tr.resource_type = 'team' AND tr.resource_id = rt.team_id AND tr.role_field = 'member_role'
    JOIN rbac_role_users tu ON tu.role_id = tr.id;

CREATE TABLE api_sessions (
  key_hash   text PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  csrf_token text NOT NULL,
  expires    timestamptz NOT NULL,
  created    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON api_sessions (expires);

CREATE TABLE api_tokens (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  scope       text NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write')),
  expires     timestamptz NOT NULL,
  last_used   timestamptz,
  created     timestamptz NOT NULL DEFAULT now(),
  modified    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON api_tokens (user_id);

CREATE TABLE api_settings (
  key      text PRIMARY KEY,
  value    jsonb NOT NULL,
  modified timestamptz NOT NULL DEFAULT now()
);
