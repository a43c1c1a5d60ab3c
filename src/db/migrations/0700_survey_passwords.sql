-- Survey passwords (issue #12; AWX's UnifiedJob.survey_passwords). A job launched with a
-- survey question of type `password` keeps that answer in extra_vars (and launch_prompts) as
-- SecretBox ciphertext, and names the variable here as {"<variable>": "$encrypted$"}: the API
-- shows those variables as "$encrypted$" (display_extra_vars), and only the runner decrypts
-- them, into the extravars file it writes (src/scheduler/survey-secrets.ts), redacting the
-- plaintext from the job's events and stdout. Jobs launched before this migration have '{}'.
ALTER TABLE unified_jobs ADD COLUMN survey_passwords jsonb NOT NULL DEFAULT '{}';
