-- The web process keeps serialized API pages and token/session lookups in memory
-- (src/api/cache/). It must learn of every committed change to a table those read, from
-- whatever process made it: each such table NOTIFYs `playstream_api_changes` with its name,
-- delivered to listeners at commit.
--
-- Row-level, not statement-level: a statement-level trigger fires for statements that
-- change nothing, and a page GET runs `INSERT INTO rbac_roles ... ON CONFLICT DO NOTHING`
-- to create its objects' roles lazily, so every such GET would empty every cache. NOTIFY
-- folds identical payloads within a transaction, so a bulk statement still sends one.
--
-- Every table of the schema gets the triggers except these, which no cached page reads
-- and which are written at high rates (the event tables take thousands of rows a second):
-- schema_migrations, dispatcher_tasks, dead_letters and the five event tables. The web
-- process checks at start that no other table lacks them (a table added by a later
-- migration without them turns the cache off, loudly).

CREATE FUNCTION api_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('playstream_api_changes', TG_TABLE_NAME);
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname <> ALL (ARRAY['schema_migrations', 'dispatcher_tasks', 'dead_letters', 'job_events',
         'project_update_events', 'inventory_update_events', 'ad_hoc_command_events', 'system_job_events'])
  LOOP
    EXECUTE format('CREATE TRIGGER api_cache_changes AFTER INSERT OR UPDATE OR DELETE ON %I
                    FOR EACH ROW EXECUTE FUNCTION api_cache_notify()', t);
    EXECUTE format('CREATE TRIGGER api_cache_truncate AFTER TRUNCATE ON %I
                    FOR EACH STATEMENT EXECUTE FUNCTION api_cache_notify()', t);
  END LOOP;
END $$;
