-- A password change or a deactivation ends every credential the user held: their login
-- sessions and bearer tokens are deleted in the same transaction as the change. A trigger
-- rather than API code, because a password changes through PATCH /api/v2/users/N/ and a
-- user is deactivated by whatever writes `is_active` (the API, an operator's SQL, an
-- external identity sync): every one of them must end the old credentials. Reactivating
-- a user brings none back.
--
-- The login path rewrites a hash stored at an older scrypt cost (src/security/passwords.ts)
-- without the password changing; it marks its transaction with
--   SELECT set_config('playstream.password_rehash', 'on', true)
-- and the trigger leaves sessions and tokens alone then. Outside such a transaction the
-- setting is unset (NULL) or '' (it reverts when the transaction that set it ends).
--
-- The deletes fire the read cache's change triggers (0400) on api_sessions and api_tokens,
-- so every web process forgets cached lookups of them as soon as the commit is heard.

CREATE FUNCTION revoke_user_credentials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.password IS DISTINCT FROM OLD.password
        AND current_setting('playstream.password_rehash', true) IS DISTINCT FROM 'on')
     OR (OLD.is_active AND NOT NEW.is_active) THEN
    DELETE FROM api_sessions WHERE user_id = NEW.id;
    DELETE FROM api_tokens WHERE user_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER users_revoke_credentials AFTER UPDATE OF password, is_active ON users
  FOR EACH ROW EXECUTE FUNCTION revoke_user_credentials();
