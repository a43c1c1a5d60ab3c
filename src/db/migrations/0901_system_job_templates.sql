-- AWX's management job templates and their weekly schedules (issue #15; AWX seeds the same
-- four in its migrations: _create_system_jobs.py and the squashed v3.0 one), so
-- /api/v2/system_job_templates/ lists them and they can be launched with their `days`
-- prompt. An install that already made a template of a kind keeps its own. The schedules'
-- DTSTART is the moment of migration and their first run a week later, as in AWX; `days`
-- is AWX's default retention for the two kinds that take it (120 and 355).
WITH seeded AS (
  INSERT INTO system_job_templates (name, description, job_type)
  SELECT v.name, v.description, v.job_type
    FROM (VALUES ('Cleanup Job Details', 'Remove job history', 'cleanup_jobs', 1),
                 ('Cleanup Activity Stream', 'Remove activity stream history', 'cleanup_activitystream', 2),
                 ('Cleanup Expired Sessions', 'Cleans out expired browser sessions', 'cleanup_sessions', 3),
                 ('Cleanup Expired OAuth 2 Tokens', 'Cleanup expired OAuth 2 access and refresh tokens', 'cleanup_tokens', 4))
         AS v(name, description, job_type, ord)
   WHERE NOT EXISTS (SELECT 1 FROM system_job_templates s WHERE s.job_type = v.job_type OR s.name = v.name)
   ORDER BY v.ord
  RETURNING id, job_type
)
INSERT INTO schedules (name, description, unified_job_template_id, rrule, enabled, dtstart, next_run, extra_data)
SELECT s.name, s.description, seeded.id,
       'DTSTART:' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"') || ' RRULE:FREQ=WEEKLY;INTERVAL=1',
       true, date_trunc('second', now()), date_trunc('second', now()) + interval '7 days', s.extra_data::jsonb
  FROM seeded
  JOIN (VALUES ('cleanup_jobs', 'Cleanup Job Schedule', 'Automatic Cleanup of Job Details', '{"days": 120}'),
               ('cleanup_activitystream', 'Cleanup Activity Schedule', 'Automatic Cleanup of Activity Stream', '{"days": 355}'),
               ('cleanup_sessions', 'Cleanup Expired Sessions', 'Cleans out expired browser sessions', '{}'),
               ('cleanup_tokens', 'Cleanup Expired OAuth 2 Tokens', 'Removes expired OAuth 2 access and refresh tokens', '{}'))
       AS s(job_type, name, description, extra_data) ON s.job_type = seeded.job_type;
