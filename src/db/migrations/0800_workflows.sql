-- Workflows (issue #14; AWX's WorkflowJobTemplate, WorkflowJobTemplateNode, WorkflowJob,
-- WorkflowJobNode).
--
-- A workflow job template is a unified job template (one id sequence with job templates,
-- projects, inventory sources and system job templates, so a node's unified_job_template_id
-- names any of them without saying which). Its nodes and their success/failure/always
-- edges are copied into workflow_job_nodes when it is launched; a workflow job is a row of
-- unified_jobs of kind 'workflow_job', which never runs on an instance and has no events
-- (inserted with stream_complete, so its final status alone finishes its processing).
--
-- A node's prompts are NULL when not given (AWX's char_prompts omit them); extra_data is
-- the node's extra vars. A node whose template is deleted keeps existing with
-- unified_job_template_id NULL (AWX's SET_NULL), by the trigger below, since no foreign
-- key can point at five tables.

ALTER TABLE unified_jobs DROP CONSTRAINT unified_jobs_kind_check;
ALTER TABLE unified_jobs ADD CONSTRAINT unified_jobs_kind_check
  CHECK (kind IN ('job', 'project_update', 'inventory_update', 'ad_hoc_command', 'system_job', 'workflow_job'));

CREATE TABLE workflow_job_templates (
  id                        bigint PRIMARY KEY DEFAULT nextval('unified_job_template_id_seq'),
  name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 512),
  description               text NOT NULL DEFAULT '',
  organization_id           bigint REFERENCES organizations ON DELETE CASCADE,
  inventory_id              bigint REFERENCES inventories ON DELETE SET NULL,
  "limit"                   text NOT NULL DEFAULT '',
  scm_branch                text NOT NULL DEFAULT '',
  job_tags                  text NOT NULL DEFAULT '',
  skip_tags                 text NOT NULL DEFAULT '',
  extra_vars                text NOT NULL DEFAULT '',
  survey_enabled            boolean NOT NULL DEFAULT false,
  survey_spec               jsonb NOT NULL DEFAULT '{}',
  allow_simultaneous        boolean NOT NULL DEFAULT false,
  ask_variables_on_launch   boolean NOT NULL DEFAULT false,
  ask_inventory_on_launch   boolean NOT NULL DEFAULT false,
  ask_scm_branch_on_launch  boolean NOT NULL DEFAULT false,
  ask_limit_on_launch       boolean NOT NULL DEFAULT false,
  ask_labels_on_launch      boolean NOT NULL DEFAULT false,
  ask_tags_on_launch        boolean NOT NULL DEFAULT false,
  ask_skip_tags_on_launch   boolean NOT NULL DEFAULT false,
  webhook_service           text NOT NULL DEFAULT '' CHECK (webhook_service IN ('', 'github', 'gitlab', 'bitbucket_dc')),
  webhook_credential_id     bigint REFERENCES credentials ON DELETE SET NULL,
  status                    text NOT NULL DEFAULT 'never updated',
  last_job_id               bigint,
  last_job_run              timestamptz,
  last_job_failed           boolean NOT NULL DEFAULT false,
  created                   timestamptz NOT NULL DEFAULT now(),
  modified                  timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (organization_id, name)
);

CREATE TABLE workflow_job_template_nodes (
  id                        bigserial PRIMARY KEY,
  workflow_job_template_id  bigint NOT NULL REFERENCES workflow_job_templates ON DELETE CASCADE,
  unified_job_template_id   bigint,
  identifier                text NOT NULL DEFAULT gen_random_uuid()::text CHECK (length(identifier) BETWEEN 1 AND 512),
  all_parents_must_converge boolean NOT NULL DEFAULT false,
  inventory_id              bigint REFERENCES inventories ON DELETE SET NULL,
  "limit"                   text,
  job_tags                  text,
  skip_tags                 text,
  scm_branch                text,
  job_type                  text CHECK (job_type IN ('run', 'check')),
  verbosity                 integer CHECK (verbosity BETWEEN 0 AND 5),
  diff_mode                 boolean,
  extra_data                jsonb NOT NULL DEFAULT '{}',
  created                   timestamptz NOT NULL DEFAULT now(),
  modified                  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workflow_job_template_id, identifier)
);
CREATE INDEX workflow_job_template_nodes_ujt_idx ON workflow_job_template_nodes (unified_job_template_id);

CREATE TABLE workflow_job_template_node_credentials (
  node_id       bigint NOT NULL REFERENCES workflow_job_template_nodes ON DELETE CASCADE,
  credential_id bigint NOT NULL REFERENCES credentials ON DELETE CASCADE,
  PRIMARY KEY (node_id, credential_id)
);

-- One table for the three edge kinds (AWX's success_nodes, failure_nodes, always_nodes).
CREATE TABLE workflow_job_template_node_edges (
  from_id bigint NOT NULL REFERENCES workflow_job_template_nodes ON DELETE CASCADE,
  kind    text NOT NULL CHECK (kind IN ('success', 'failure', 'always')),
  to_id   bigint NOT NULL REFERENCES workflow_job_template_nodes ON DELETE CASCADE,
  PRIMARY KEY (from_id, kind, to_id)
);
CREATE INDEX workflow_job_template_node_edges_to_idx ON workflow_job_template_node_edges (to_id);

CREATE TABLE workflow_job_nodes (
  id                        bigserial PRIMARY KEY,
  workflow_job_id           bigint NOT NULL REFERENCES unified_jobs ON DELETE CASCADE,
  unified_job_template_id   bigint,
  job_id                    bigint UNIQUE REFERENCES unified_jobs ON DELETE SET NULL,
  do_not_run                boolean NOT NULL DEFAULT false,
  identifier                text NOT NULL DEFAULT '',
  all_parents_must_converge boolean NOT NULL DEFAULT false,
  inventory_id              bigint REFERENCES inventories ON DELETE SET NULL,
  "limit"                   text,
  job_tags                  text,
  skip_tags                 text,
  scm_branch                text,
  job_type                  text,
  verbosity                 integer,
  diff_mode                 boolean,
  extra_data                jsonb NOT NULL DEFAULT '{}',
  ancestor_artifacts        jsonb NOT NULL DEFAULT '{}',
  created                   timestamptz NOT NULL DEFAULT now(),
  modified                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_job_nodes_workflow_job_idx ON workflow_job_nodes (workflow_job_id, id);
CREATE INDEX workflow_job_nodes_ujt_idx ON workflow_job_nodes (unified_job_template_id);

CREATE TABLE workflow_job_node_credentials (
  node_id       bigint NOT NULL REFERENCES workflow_job_nodes ON DELETE CASCADE,
  credential_id bigint NOT NULL REFERENCES credentials ON DELETE CASCADE,
  PRIMARY KEY (node_id, credential_id)
);

CREATE TABLE workflow_job_node_edges (
  from_id bigint NOT NULL REFERENCES workflow_job_nodes ON DELETE CASCADE,
  kind    text NOT NULL CHECK (kind IN ('success', 'failure', 'always')),
  to_id   bigint NOT NULL REFERENCES workflow_job_nodes ON DELETE CASCADE,
  PRIMARY KEY (from_id, kind, to_id)
);
CREATE INDEX workflow_job_node_edges_to_idx ON workflow_job_node_edges (to_id);

CREATE FUNCTION workflow_nodes_forget_template() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE workflow_job_template_nodes SET unified_job_template_id = NULL WHERE unified_job_template_id = OLD.id;
  UPDATE workflow_job_nodes SET unified_job_template_id = NULL WHERE unified_job_template_id = OLD.id;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['job_templates', 'projects', 'inventory_sources', 'system_job_templates', 'workflow_job_templates'] LOOP
    EXECUTE format('CREATE TRIGGER workflow_nodes_forget_template AFTER DELETE ON %I
                    FOR EACH ROW EXECUTE FUNCTION workflow_nodes_forget_template()', t);
  END LOOP;
  -- The API's read cache hears of changes to every table it reads (migration 0400).
  FOREACH t IN ARRAY ARRAY['workflow_job_templates', 'workflow_job_template_nodes', 'workflow_job_template_node_credentials',
    'workflow_job_template_node_edges', 'workflow_job_nodes', 'workflow_job_node_credentials', 'workflow_job_node_edges'] LOOP
    EXECUTE format('CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON %I
                    FOR EACH ROW EXECUTE FUNCTION api_cache_notify()', t);
    EXECUTE format('CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON %I
                    FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify()', t);
  END LOOP;
END $$;
