-- Passwords given at launch for credentials whose inputs say "ASK" (AWX's
-- credential_passwords / passwords_needed_to_start): sealed with the SECRET_KEY box, read
-- once by the job's runner and then emptied (src/scheduler/credential-injection.ts).
ALTER TABLE unified_jobs ADD COLUMN credential_passwords text NOT NULL DEFAULT '';
