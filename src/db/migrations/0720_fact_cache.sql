-- The fact cache (issue #16; src/scheduler/fact-cache.ts): each host's facts as the last job
-- with `use_fact_cache` left them, and when; a job records whether it used the cache (copied
-- from its template at launch, as AWX's Job.use_fact_cache).
ALTER TABLE hosts ADD COLUMN ansible_facts jsonb NOT NULL DEFAULT '{}';
ALTER TABLE hosts ADD COLUMN ansible_facts_modified timestamptz;
ALTER TABLE unified_jobs ADD COLUMN use_fact_cache boolean NOT NULL DEFAULT false;
