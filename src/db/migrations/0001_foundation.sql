-- Playstream's foundation schema: AWX's resources in AWX's vocabulary, leaner.
--
-- Ids of the four unified job template kinds (projects, inventory sources, job templates,
-- system job templates) come from one sequence, as in AWX, so /unified_job_templates/ and
-- schedules can name any of them by id alone. All unified jobs live in one table with a
-- `kind` column: the task manager's pass reads one table, and ids are unique across kinds.
-- Migration ranges: 0001–0099 foundation, 0100–0199 pipeline, 0200–0299 scheduler,
-- 0300–0399 api, 0400–0499 websocket.

CREATE TABLE organizations (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 512),
  description     text NOT NULL DEFAULT '',
  max_hosts       integer NOT NULL DEFAULT 0 CHECK (max_hosts >= 0),
  created         timestamptz NOT NULL DEFAULT now(),
  modified        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id                bigserial PRIMARY KEY,
  username          text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
  email             text NOT NULL DEFAULT '',
  first_name        text NOT NULL DEFAULT '',
  last_name         text NOT NULL DEFAULT '',
  -- "scrypt$N$r$p$salt$hash" (base64url); '' means no local password (cannot log in).
  password          text NOT NULL DEFAULT '',
  is_superuser      boolean NOT NULL DEFAULT false,
  is_system_auditor boolean NOT NULL DEFAULT false,
  is_active         boolean NOT NULL DEFAULT true,
  last_login        timestamptz,
  created           timestamptz NOT NULL DEFAULT now(),
  modified          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teams (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description     text NOT NULL DEFAULT '',
  organization_id bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
  created         timestamptz NOT NULL DEFAULT now(),
  modified        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, name)
);

CREATE TABLE credential_types (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  kind        text NOT NULL CHECK (kind IN ('ssh', 'vault', 'net', 'scm', 'cloud', 'registry', 'token',
                                            'insights', 'external', 'kubernetes', 'galaxy', 'cryptography')),
  namespace   text,
  managed     boolean NOT NULL DEFAULT false,
  inputs      jsonb NOT NULL DEFAULT '{}',
  injectors   jsonb NOT NULL DEFAULT '{}',
  created     timestamptz NOT NULL DEFAULT now(),
  modified    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (name, kind)
);

CREATE TABLE credentials (
  id                 bigserial PRIMARY KEY,
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description        text NOT NULL DEFAULT '',
  organization_id    bigint REFERENCES organizations ON DELETE CASCADE,
  credential_type_id bigint NOT NULL REFERENCES credential_types,
  -- Secret inputs (those the type marks `secret: true`) are stored as
  -- "$encrypted$AESGCM$<iv>$<tag>$<ciphertext>" strings, never in plain text.
  inputs             jsonb NOT NULL DEFAULT '{}',
  created            timestamptz NOT NULL DEFAULT now(),
  modified           timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (organization_id, name, credential_type_id)
);

CREATE SEQUENCE unified_job_template_id_seq;

CREATE TABLE projects (
  id                       bigint PRIMARY KEY DEFAULT nextval('unified_job_template_id_seq'),
  name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description              text NOT NULL DEFAULT '',
  organization_id          bigint REFERENCES organizations ON DELETE CASCADE,
  scm_type                 text NOT NULL DEFAULT '' CHECK (scm_type IN ('', 'git', 'svn', 'insights', 'archive')),
  scm_url                  text NOT NULL DEFAULT '',
  scm_branch               text NOT NULL DEFAULT '',
  scm_refspec              text NOT NULL DEFAULT '',
  scm_clean                boolean NOT NULL DEFAULT false,
  scm_track_submodules     boolean NOT NULL DEFAULT false,
  scm_delete_on_update     boolean NOT NULL DEFAULT false,
  scm_update_on_launch     boolean NOT NULL DEFAULT false,
  scm_update_cache_timeout integer NOT NULL DEFAULT 0 CHECK (scm_update_cache_timeout >= 0),
  allow_override           boolean NOT NULL DEFAULT false,
  credential_id            bigint REFERENCES credentials ON DELETE SET NULL,
  local_path               text NOT NULL DEFAULT '',
  scm_revision             text NOT NULL DEFAULT '',
  playbook_files           jsonb NOT NULL DEFAULT '[]',
  inventory_files          jsonb NOT NULL DEFAULT '[]',
  timeout                  integer NOT NULL DEFAULT 0,
  status                   text NOT NULL DEFAULT 'never updated',
  last_job_id              bigint,
  last_job_run             timestamptz,
  last_job_failed          boolean NOT NULL DEFAULT false,
  created                  timestamptz NOT NULL DEFAULT now(),
  modified                 timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (organization_id, name)
);

CREATE TABLE inventories (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description     text NOT NULL DEFAULT '',
  organization_id bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
  kind            text NOT NULL DEFAULT '' CHECK (kind IN ('', 'smart', 'constructed')),
  host_filter     text,
  variables       text NOT NULL DEFAULT '',
  prevent_instance_group_fallback boolean NOT NULL DEFAULT false,
  pending_deletion boolean NOT NULL DEFAULT false,
  created         timestamptz NOT NULL DEFAULT now(),
  modified        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, name)
);

CREATE TABLE hosts (
  id                       bigserial PRIMARY KEY,
  name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description              text NOT NULL DEFAULT '',
  inventory_id             bigint NOT NULL REFERENCES inventories ON DELETE CASCADE,
  enabled                  boolean NOT NULL DEFAULT true,
  instance_id              text NOT NULL DEFAULT '',
  variables                text NOT NULL DEFAULT '',
  last_job_id              bigint,
  last_job_host_summary_id bigint,
  created                  timestamptz NOT NULL DEFAULT now(),
  modified                 timestamptz NOT NULL DEFAULT now(),
  UNIQUE (inventory_id, name)
);

CREATE TABLE groups (
  id           bigserial PRIMARY KEY,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description  text NOT NULL DEFAULT '',
  inventory_id bigint NOT NULL REFERENCES inventories ON DELETE CASCADE,
  variables    text NOT NULL DEFAULT '',
  created      timestamptz NOT NULL DEFAULT now(),
  modified     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (inventory_id, name)
);

CREATE TABLE group_hosts (
  group_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  host_id  bigint NOT NULL REFERENCES hosts ON DELETE CASCADE,
  PRIMARY KEY (group_id, host_id)
);
CREATE INDEX ON group_hosts (host_id);

CREATE TABLE group_children (
  parent_id bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  child_id  bigint NOT NULL REFERENCES groups ON DELETE CASCADE,
  PRIMARY KEY (parent_id, child_id),
  CHECK (parent_id <> child_id)
);
CREATE INDEX ON group_children (child_id);

CREATE TABLE inventory_sources (
  id                   bigint PRIMARY KEY DEFAULT nextval('unified_job_template_id_seq'),
  name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description          text NOT NULL DEFAULT '',
  inventory_id         bigint NOT NULL REFERENCES inventories ON DELETE CASCADE,
  source               text NOT NULL DEFAULT 'scm',
  source_path          text NOT NULL DEFAULT '',
  source_project_id    bigint REFERENCES projects ON DELETE CASCADE,
  source_vars          text NOT NULL DEFAULT '',
  scm_branch           text NOT NULL DEFAULT '',
  credential_id        bigint REFERENCES credentials ON DELETE SET NULL,
  overwrite            boolean NOT NULL DEFAULT false,
  overwrite_vars       boolean NOT NULL DEFAULT false,
  update_on_launch     boolean NOT NULL DEFAULT false,
  update_cache_timeout integer NOT NULL DEFAULT 0 CHECK (update_cache_timeout >= 0),
  timeout              integer NOT NULL DEFAULT 0,
  verbosity            integer NOT NULL DEFAULT 1 CHECK (verbosity BETWEEN 0 AND 2),
  "limit"              text NOT NULL DEFAULT '',
  enabled_var          text NOT NULL DEFAULT '',
  enabled_value        text NOT NULL DEFAULT '',
  host_filter          text NOT NULL DEFAULT '',
  status               text NOT NULL DEFAULT 'never updated',
  last_job_id          bigint,
  last_job_run         timestamptz,
  last_job_failed      boolean NOT NULL DEFAULT false,
  created              timestamptz NOT NULL DEFAULT now(),
  modified             timestamptz NOT NULL DEFAULT now(),
  UNIQUE (inventory_id, name)
);

CREATE TABLE job_templates (
  id                   bigint PRIMARY KEY DEFAULT nextval('unified_job_template_id_seq'),
  name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description          text NOT NULL DEFAULT '',
  organization_id      bigint REFERENCES organizations ON DELETE CASCADE,
  job_type             text NOT NULL DEFAULT 'run' CHECK (job_type IN ('run', 'check')),
  inventory_id         bigint REFERENCES inventories ON DELETE SET NULL,
  project_id           bigint REFERENCES projects ON DELETE SET NULL,
  playbook             text NOT NULL DEFAULT '',
  scm_branch           text NOT NULL DEFAULT '',
  forks                integer NOT NULL DEFAULT 0 CHECK (forks >= 0),
  "limit"              text NOT NULL DEFAULT '',
  verbosity            integer NOT NULL DEFAULT 0 CHECK (verbosity BETWEEN 0 AND 5),
  extra_vars           text NOT NULL DEFAULT '',
  job_tags             text NOT NULL DEFAULT '',
  skip_tags            text NOT NULL DEFAULT '',
  start_at_task        text NOT NULL DEFAULT '',
  timeout              integer NOT NULL DEFAULT 0 CHECK (timeout >= 0),
  use_fact_cache       boolean NOT NULL DEFAULT false,
  host_config_key      text NOT NULL DEFAULT '',
  become_enabled       boolean NOT NULL DEFAULT false,
  diff_mode            boolean NOT NULL DEFAULT false,
  allow_simultaneous   boolean NOT NULL DEFAULT false,
  job_slice_count      integer NOT NULL DEFAULT 1 CHECK (job_slice_count >= 1),
  survey_enabled       boolean NOT NULL DEFAULT false,
  survey_spec          jsonb NOT NULL DEFAULT '{}',
  ask_scm_branch_on_launch  boolean NOT NULL DEFAULT false,
  ask_diff_mode_on_launch   boolean NOT NULL DEFAULT false,
  ask_variables_on_launch   boolean NOT NULL DEFAULT false,
  ask_limit_on_launch       boolean NOT NULL DEFAULT false,
  ask_tags_on_launch        boolean NOT NULL DEFAULT false,
  ask_skip_tags_on_launch   boolean NOT NULL DEFAULT false,
  ask_job_type_on_launch    boolean NOT NULL DEFAULT false,
  ask_verbosity_on_launch   boolean NOT NULL DEFAULT false,
  ask_inventory_on_launch   boolean NOT NULL DEFAULT false,
  ask_credential_on_launch  boolean NOT NULL DEFAULT false,
  ask_execution_environment_on_launch boolean NOT NULL DEFAULT false,
  ask_labels_on_launch      boolean NOT NULL DEFAULT false,
  ask_forks_on_launch       boolean NOT NULL DEFAULT false,
  ask_job_slice_count_on_launch boolean NOT NULL DEFAULT false,
  ask_timeout_on_launch     boolean NOT NULL DEFAULT false,
  ask_instance_groups_on_launch boolean NOT NULL DEFAULT false,
  prevent_instance_group_fallback boolean NOT NULL DEFAULT false,
  status               text NOT NULL DEFAULT 'never updated',
  last_job_id          bigint,
  last_job_run         timestamptz,
  last_job_failed      boolean NOT NULL DEFAULT false,
  created              timestamptz NOT NULL DEFAULT now(),
  modified             timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (organization_id, name)
);

CREATE TABLE job_template_credentials (
  job_template_id bigint NOT NULL REFERENCES job_templates ON DELETE CASCADE,
  credential_id   bigint NOT NULL REFERENCES credentials ON DELETE CASCADE,
  PRIMARY KEY (job_template_id, credential_id)
);

CREATE TABLE system_job_templates (
  id          bigint PRIMARY KEY DEFAULT nextval('unified_job_template_id_seq'),
  name        text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  job_type    text NOT NULL CHECK (job_type IN ('cleanup_jobs', 'cleanup_activitystream', 'cleanup_sessions', 'cleanup_tokens')),
  status      text NOT NULL DEFAULT 'never updated',
  last_job_id bigint,
  last_job_run timestamptz,
  last_job_failed boolean NOT NULL DEFAULT false,
  created     timestamptz NOT NULL DEFAULT now(),
  modified    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE labels (
  id              bigserial PRIMARY KEY,
  name            text NOT NULL,
  organization_id bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
  created         timestamptz NOT NULL DEFAULT now(),
  modified        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, name)
);

CREATE TABLE job_template_labels (
  job_template_id bigint NOT NULL REFERENCES job_templates ON DELETE CASCADE,
  label_id        bigint NOT NULL REFERENCES labels ON DELETE CASCADE,
  PRIMARY KEY (job_template_id, label_id)
);

-- Cluster --------------------------------------------------------------------------------

CREATE TABLE instances (
  id                  bigserial PRIMARY KEY,
  hostname            text NOT NULL UNIQUE,
  uuid                uuid NOT NULL DEFAULT gen_random_uuid(),
  node_type           text NOT NULL DEFAULT 'hybrid' CHECK (node_type IN ('control', 'execution', 'hybrid', 'hop')),
  node_state          text NOT NULL DEFAULT 'ready' CHECK (node_state IN ('provisioning', 'provision-fail', 'installed', 'ready', 'unavailable', 'deprovisioning', 'deprovision-fail')),
  version             text NOT NULL DEFAULT '',
  enabled             boolean NOT NULL DEFAULT true,
  managed_by_policy   boolean NOT NULL DEFAULT true,
  cpu                 numeric NOT NULL DEFAULT 0,
  memory              bigint NOT NULL DEFAULT 0,
  cpu_capacity        integer NOT NULL DEFAULT 0,
  mem_capacity        integer NOT NULL DEFAULT 0,
  capacity_adjustment numeric(3,2) NOT NULL DEFAULT 1,
  capacity            integer NOT NULL DEFAULT 0,
  errors              text NOT NULL DEFAULT '',
  last_seen           timestamptz,
  last_health_check   timestamptz,
  created             timestamptz NOT NULL DEFAULT now(),
  modified            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instance_groups (
  id                         bigserial PRIMARY KEY,
  name                       text NOT NULL UNIQUE,
  is_container_group         boolean NOT NULL DEFAULT false,
  policy_instance_percentage integer NOT NULL DEFAULT 0 CHECK (policy_instance_percentage BETWEEN 0 AND 100),
  policy_instance_minimum    integer NOT NULL DEFAULT 0 CHECK (policy_instance_minimum >= 0),
  policy_instance_list       jsonb NOT NULL DEFAULT '[]',
  max_concurrent_jobs        integer NOT NULL DEFAULT 0,
  max_forks                  integer NOT NULL DEFAULT 0,
  created                    timestamptz NOT NULL DEFAULT now(),
  modified                   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instance_group_instances (
  instance_group_id bigint NOT NULL REFERENCES instance_groups ON DELETE CASCADE,
  instance_id       bigint NOT NULL REFERENCES instances ON DELETE CASCADE,
  PRIMARY KEY (instance_group_id, instance_id)
);

-- Ordered instance-group preferences; placement tries template, then inventory, then organization.
CREATE TABLE job_template_instance_groups (
  job_template_id   bigint NOT NULL REFERENCES job_templates ON DELETE CASCADE,
  instance_group_id bigint NOT NULL REFERENCES instance_groups ON DELETE CASCADE,
  position          integer NOT NULL DEFAULT 0,
  PRIMARY KEY (job_template_id, instance_group_id)
);
CREATE TABLE inventory_instance_groups (
  inventory_id      bigint NOT NULL REFERENCES inventories ON DELETE CASCADE,
  instance_group_id bigint NOT NULL REFERENCES instance_groups ON DELETE CASCADE,
  position          integer NOT NULL DEFAULT 0,
  PRIMARY KEY (inventory_id, instance_group_id)
);
CREATE TABLE organization_instance_groups (
  organization_id   bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
  instance_group_id bigint NOT NULL REFERENCES instance_groups ON DELETE CASCADE,
  position          integer NOT NULL DEFAULT 0,
  PRIMARY KEY (organization_id, instance_group_id)
);

-- Unified jobs ---------------------------------------------------------------------------

CREATE TABLE unified_jobs (
  id                        bigserial PRIMARY KEY,
  kind                      text NOT NULL CHECK (kind IN ('job', 'project_update', 'inventory_update', 'ad_hoc_command', 'system_job')),
  name                      text NOT NULL DEFAULT '',
  description               text NOT NULL DEFAULT '',
  unified_job_template_id   bigint,
  organization_id           bigint REFERENCES organizations ON DELETE SET NULL,
  launch_type               text NOT NULL DEFAULT 'manual' CHECK (launch_type IN ('manual', 'relaunch', 'callback', 'scheduled', 'dependency', 'workflow', 'webhook', 'sync', 'scm')),
  status                    text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'pending', 'waiting', 'running', 'successful', 'failed', 'error', 'canceled')),
  failed                    boolean NOT NULL DEFAULT false,
  created                   timestamptz NOT NULL DEFAULT now(),
  modified                  timestamptz NOT NULL DEFAULT now(),
  started                   timestamptz,
  finished                  timestamptz,
  canceled_on               timestamptz,
  elapsed                   numeric(12,3) NOT NULL DEFAULT 0,
  job_explanation           text NOT NULL DEFAULT '',
  result_traceback          text NOT NULL DEFAULT '',
  cancel_flag               boolean NOT NULL DEFAULT false,
  job_args                  text NOT NULL DEFAULT '',
  job_cwd                   text NOT NULL DEFAULT '',
  job_env                   jsonb NOT NULL DEFAULT '{}',
  execution_node            text NOT NULL DEFAULT '',
  controller_node           text NOT NULL DEFAULT '',
  instance_group_id         bigint REFERENCES instance_groups ON DELETE SET NULL,
  task_impact               integer NOT NULL DEFAULT 0,
  dependencies_processed    boolean NOT NULL DEFAULT false,
  emitted_events            integer NOT NULL DEFAULT 0,
  host_status_counts        jsonb,
  event_processing_finished boolean NOT NULL DEFAULT false,
  created_by_id             bigint REFERENCES users ON DELETE SET NULL,
  schedule_id               bigint,
  -- job / ad hoc / project update / inventory update parameters (null where not the kind's)
  job_type                  text NOT NULL DEFAULT '',
  inventory_id              bigint REFERENCES inventories ON DELETE SET NULL,
  project_id                bigint REFERENCES projects ON DELETE SET NULL,
  inventory_source_id       bigint REFERENCES inventory_sources ON DELETE SET NULL,
  credential_id             bigint REFERENCES credentials ON DELETE SET NULL,
  playbook                  text NOT NULL DEFAULT '',
  scm_branch                text NOT NULL DEFAULT '',
  scm_revision              text NOT NULL DEFAULT '',
  forks                     integer NOT NULL DEFAULT 0,
  "limit"                   text NOT NULL DEFAULT '',
  verbosity                 integer NOT NULL DEFAULT 0,
  extra_vars                text NOT NULL DEFAULT '',
  job_tags                  text NOT NULL DEFAULT '',
  skip_tags                 text NOT NULL DEFAULT '',
  start_at_task             text NOT NULL DEFAULT '',
  timeout                   integer NOT NULL DEFAULT 0,
  diff_mode                 boolean NOT NULL DEFAULT false,
  become_enabled            boolean NOT NULL DEFAULT false,
  allow_simultaneous        boolean NOT NULL DEFAULT false,
  module_name               text NOT NULL DEFAULT '',
  module_args               text NOT NULL DEFAULT '',
  artifacts                 jsonb NOT NULL DEFAULT '{}',
  launch_prompts            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX unified_jobs_status_idx ON unified_jobs (status) WHERE status IN ('pending', 'waiting', 'running');
CREATE INDEX unified_jobs_template_idx ON unified_jobs (unified_job_template_id, id DESC);
CREATE INDEX unified_jobs_created_idx ON unified_jobs (created DESC);
CREATE INDEX unified_jobs_node_idx ON unified_jobs (execution_node) WHERE status IN ('waiting', 'running');

CREATE TABLE unified_job_credentials (
  unified_job_id bigint NOT NULL REFERENCES unified_jobs ON DELETE CASCADE,
  credential_id  bigint NOT NULL REFERENCES credentials ON DELETE CASCADE,
  PRIMARY KEY (unified_job_id, credential_id)
);

CREATE TABLE unified_job_dependencies (
  unified_job_id bigint NOT NULL REFERENCES unified_jobs ON DELETE CASCADE,
  depends_on_id  bigint NOT NULL REFERENCES unified_jobs ON DELETE CASCADE,
  PRIMARY KEY (unified_job_id, depends_on_id)
);

CREATE TABLE job_host_summaries (
  id         bigserial PRIMARY KEY,
  job_id     bigint NOT NULL REFERENCES unified_jobs ON DELETE CASCADE,
  host_id    bigint REFERENCES hosts ON DELETE SET NULL,
  host_name  text NOT NULL,
  changed    integer NOT NULL DEFAULT 0,
  dark       integer NOT NULL DEFAULT 0,
  failures   integer NOT NULL DEFAULT 0,
  ignored    integer NOT NULL DEFAULT 0,
  ok         integer NOT NULL DEFAULT 0,
  processed  integer NOT NULL DEFAULT 0,
  rescued    integer NOT NULL DEFAULT 0,
  skipped    integer NOT NULL DEFAULT 0,
  failed     boolean NOT NULL DEFAULT false,
  created    timestamptz NOT NULL DEFAULT now(),
  modified   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, host_name)
);
CREATE INDEX ON job_host_summaries (host_id);

-- Job events: one table per kind, hourly range partitions on job_created, so a job's
-- events share one partition and retention is DROP TABLE of old partitions. event_data is
-- text (as in AWX): stored whole as the runner sent it, returned by the API without a
-- re-parse, and spares Postgres jsonb parsing on the ingest path.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['job_events', 'project_update_events', 'inventory_update_events',
                           'ad_hoc_command_events', 'system_job_events'] LOOP
    EXECUTE format('CREATE SEQUENCE %I', t || '_id_seq');
    EXECUTE format($f$
      CREATE TABLE %I (
        id          bigint NOT NULL DEFAULT nextval(%L),
        created     timestamptz NOT NULL,
        modified    timestamptz NOT NULL,
        job_created timestamptz NOT NULL,
        job_id      bigint NOT NULL,
        event       text NOT NULL,
        event_data  text NOT NULL DEFAULT '{}',
        failed      boolean NOT NULL DEFAULT false,
        changed     boolean NOT NULL DEFAULT false,
        uuid        text NOT NULL DEFAULT '',
        parent_uuid text NOT NULL DEFAULT '',
        counter     integer NOT NULL CHECK (counter >= 0),
        stdout      text NOT NULL DEFAULT '',
        verbosity   integer NOT NULL DEFAULT 0,
        start_line  integer NOT NULL DEFAULT 0,
        end_line    integer NOT NULL DEFAULT 0,
        host_id     bigint,
        host_name   text NOT NULL DEFAULT '',
        playbook    text NOT NULL DEFAULT '',
        play        text NOT NULL DEFAULT '',
        role        text NOT NULL DEFAULT '',
        task        text NOT NULL DEFAULT ''
      ) PARTITION BY RANGE (job_created)$f$, t, t || '_id_seq');
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I (job_id, job_created, counter)', t || '_job_counter_key', t);
    EXECUTE format('CREATE INDEX %I ON %I (job_id, job_created, uuid)', t || '_job_uuid_idx', t);
  END LOOP;
END $$;

-- Creates the hourly partition holding `ts` in every event table, if missing. Race-safe
-- across workers and nodes: an advisory lock per partition name serialises the creators.
-- Retention is DROP TABLE of whole partitions (no row-by-row DELETE).
CREATE FUNCTION ensure_event_partitions(ts timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t text;
  lo timestamptz := date_trunc('hour', ts, 'UTC');
  suffix text := to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24');
  part text;
BEGIN
  FOREACH t IN ARRAY ARRAY['job_events', 'project_update_events', 'inventory_update_events',
                           'ad_hoc_command_events', 'system_job_events'] LOOP
    part := t || '_' || suffix;
    IF to_regclass(part) IS NULL THEN
      -- The lock queues concurrent creators; the catalog snapshot may still predate the
      -- winner's commit, so a loser can see "already exists": that is success too.
      PERFORM pg_advisory_xact_lock(hashtext(part));
      BEGIN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       part, t, lo, lo + interval '1 hour');
      EXCEPTION WHEN duplicate_table OR unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END $$;

-- Schedules, notifications, activity stream -----------------------------------------------

CREATE TABLE schedules (
  id                      bigserial PRIMARY KEY,
  name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description             text NOT NULL DEFAULT '',
  unified_job_template_id bigint NOT NULL,
  rrule                   text NOT NULL,
  enabled                 boolean NOT NULL DEFAULT true,
  dtstart                 timestamptz,
  dtend                   timestamptz,
  next_run                timestamptz,
  extra_data              jsonb NOT NULL DEFAULT '{}',
  launch_prompts          jsonb NOT NULL DEFAULT '{}',
  created                 timestamptz NOT NULL DEFAULT now(),
  modified                timestamptz NOT NULL DEFAULT now(),
  UNIQUE (unified_job_template_id, name)
);
CREATE INDEX schedules_next_run_idx ON schedules (next_run) WHERE enabled;

CREATE TABLE notification_templates (
  id                         bigserial PRIMARY KEY,
  name                       text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description                text NOT NULL DEFAULT '',
  organization_id            bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
  notification_type          text NOT NULL CHECK (notification_type IN ('email', 'slack', 'webhook', 'twilio', 'pagerduty', 'grafana', 'irc', 'mattermost', 'rocketchat')),
  -- Secret fields (password, token, ...) encrypted like credential inputs.
  notification_configuration jsonb NOT NULL DEFAULT '{}',
  messages                   jsonb,
  created                    timestamptz NOT NULL DEFAULT now(),
  modified                   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, name)
);

-- Which templates fire for which resource and moment (AWX's notification_templates_{started,success,error}).
CREATE TABLE notification_template_attachments (
  notification_template_id bigint NOT NULL REFERENCES notification_templates ON DELETE CASCADE,
  resource_type            text NOT NULL CHECK (resource_type IN ('job_template', 'project', 'inventory_source', 'organization', 'system_job_template')),
  resource_id              bigint NOT NULL,
  on_event                 text NOT NULL CHECK (on_event IN ('started', 'success', 'error', 'approvals')),
  PRIMARY KEY (resource_type, resource_id, on_event, notification_template_id)
);

CREATE TABLE notifications (
  id                       bigserial PRIMARY KEY,
  notification_template_id bigint NOT NULL REFERENCES notification_templates ON DELETE CASCADE,
  unified_job_id           bigint REFERENCES unified_jobs ON DELETE CASCADE,
  status                   text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'successful', 'failed')),
  error                    text NOT NULL DEFAULT '',
  notifications_sent       integer NOT NULL DEFAULT 0,
  notification_type        text NOT NULL,
  recipients               text NOT NULL DEFAULT '',
  subject                  text NOT NULL DEFAULT '',
  body                     jsonb,
  attempts                 integer NOT NULL DEFAULT 0,
  next_attempt             timestamptz NOT NULL DEFAULT now(),
  created                  timestamptz NOT NULL DEFAULT now(),
  modified                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_pending_idx ON notifications (next_attempt) WHERE status = 'pending';
CREATE INDEX ON notifications (unified_job_id);

CREATE TABLE activity_stream (
  id                       bigserial PRIMARY KEY,
  "timestamp"              timestamptz NOT NULL DEFAULT now(),
  actor_id                 bigint REFERENCES users ON DELETE SET NULL,
  operation                text NOT NULL CHECK (operation IN ('create', 'update', 'delete', 'associate', 'disassociate')),
  object1                  text NOT NULL,
  object1_id               bigint,
  object2                  text NOT NULL DEFAULT '',
  object2_id               bigint,
  object_relationship_type text NOT NULL DEFAULT '',
  changes                  jsonb NOT NULL DEFAULT '{}',
  action_node              text NOT NULL DEFAULT ''
);
CREATE INDEX ON activity_stream ("timestamp");
CREATE INDEX ON activity_stream (object1, object1_id);
