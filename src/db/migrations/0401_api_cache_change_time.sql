-- The change NOTIFY (0400) also carries when its statement started (epoch seconds, to the
-- microsecond), so the web process can measure how long after a change it hears of it: an
-- upper bound of its read cache's staleness window (metric
-- api_read_cache_change_delay_seconds). Rows of one statement share the time, so NOTIFY
-- still folds them into one message.
CREATE OR REPLACE FUNCTION api_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('playstream_api_changes', TG_TABLE_NAME || ' ' || extract(epoch FROM statement_timestamp()));
  RETURN NULL;
END $$;
