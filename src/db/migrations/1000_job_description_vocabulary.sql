-- `?search=` on jobs matches names and descriptions (AWX's SEARCH_FIELDS). Descriptions, like
-- names, are their templates': few values shared by a million jobs. Matched through the
-- trigram index they made the search's count a bitmap over every job of the matching name
-- (an OR with the name side needs the heap: ~1 s a count under the load test's mixed traffic).
-- Now both sides are vocabularies (src/db/lookups.ts): the pattern is matched against the
-- values jobs have had and the jobs found by equality, and a side that matches no value is
-- `false`, so a search whose term is in no description is the name lookup alone, answered
-- from the name index. The trigram index goes: its upkeep on every job insert bought nothing
-- the equality index does not.
--
-- Two trigger functions keep any vocabulary (TG_ARGV[0] the vocabulary table, TG_ARGV[1] the
-- column): new rows' values per statement, a changed value per row (a column list, which
-- keeps a status update from firing it, rules out transition tables). The names' triggers
-- (migration 0710) move onto them.
CREATE TABLE unified_job_descriptions (value text PRIMARY KEY);
INSERT INTO unified_job_descriptions SELECT DISTINCT description FROM unified_jobs WHERE description IS NOT NULL;

CREATE FUNCTION vocabulary_add_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('INSERT INTO %I SELECT DISTINCT %I FROM new_rows WHERE %I IS NOT NULL ON CONFLICT DO NOTHING',
                 TG_ARGV[0], TG_ARGV[1], TG_ARGV[1]);
  RETURN NULL;
END $$;

CREATE FUNCTION vocabulary_add_value() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v text := to_jsonb(NEW) ->> TG_ARGV[1];
BEGIN
  IF v IS NOT NULL THEN
    EXECUTE format('INSERT INTO %I VALUES ($1) ON CONFLICT DO NOTHING', TG_ARGV[0]) USING v;
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER unified_job_names_insert ON unified_jobs;
DROP TRIGGER unified_job_names_update ON unified_jobs;
DROP FUNCTION unified_job_names_track(), unified_job_names_renamed();

CREATE TRIGGER unified_job_names_insert AFTER INSERT ON unified_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vocabulary_add_rows('unified_job_names', 'name');
CREATE TRIGGER unified_job_names_update AFTER UPDATE OF name ON unified_jobs
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION vocabulary_add_value('unified_job_names', 'name');
CREATE TRIGGER unified_job_descriptions_insert AFTER INSERT ON unified_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vocabulary_add_rows('unified_job_descriptions', 'description');
CREATE TRIGGER unified_job_descriptions_update AFTER UPDATE OF description ON unified_jobs
  FOR EACH ROW WHEN (OLD.description IS DISTINCT FROM NEW.description) EXECUTE FUNCTION vocabulary_add_value('unified_job_descriptions', 'description');

DROP INDEX unified_jobs_description_trgm_idx;
CREATE INDEX unified_jobs_description_idx ON unified_jobs (description, kind);
