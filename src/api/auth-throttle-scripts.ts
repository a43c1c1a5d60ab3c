/**
 * The Redis side of authentication attempt limits (auth-throttle.ts). Each counter is a
 * plain integer key whose expiry is set when it is created: a fixed window that starts at
 * the first counted attempt, so a locked counter opens again at most `window` after that
 * attempt and no sweeper is needed.
 *
 * ATTEMPT_LUA — reserve one password check against a username and a client address, or
 * only ask whether they are locked.
 *   KEYS[1]  the username's counter
 *   KEYS[2]  the address's counter
 *   ARGV[1]  window, ms (the expiry of a counter this call creates)
 *   ARGV[2]  username limit: locked once the counter reaches it
 *   ARGV[3]  address limit
 *   ARGV[4]  '1': reserve (increment both) when neither is locked; '0': check only
 *   returns  0 when the check may go ahead (and, with ARGV[4] '1', both counters were
 *            incremented); otherwise the ms until the later of the locked counters
 *            expires (≥ 1), and nothing changed.
 *
 * Reserving before the password is checked, not counting after, is what makes the limit
 * hold under concurrency: a thousand guesses sent at once are a thousand increments, and
 * all but the first `limit` are refused before any scrypt runs.
 *
 * SUCCEEDED_LUA — a reserved check found the right password.
 *   KEYS[1]  the username's counter: deleted (a success resets the username, as
 *            django-axes' AXES_RESET_ON_SUCCESS does)
 *   KEYS[2]  the address's counter: decremented, taking back this check's reservation only
 *            (a user logging in to their own account must not wipe the failures their
 *            address made against others)
 *   returns  1
 *
 * A failed check needs no script: its reservation is its failure.
 *
 * Both are sent with EVAL: they are short, run once per password check (whose scrypt
 * costs ~0.6 s), and need no NOSCRIPT handling after a Redis restart.
 */
export const ATTEMPT_LUA = `
local u = tonumber(redis.call('GET', KEYS[1]) or '0')
local a = tonumber(redis.call('GET', KEYS[2]) or '0')
local userLocked = u >= tonumber(ARGV[2])
local addressLocked = a >= tonumber(ARGV[3])
if userLocked or addressLocked then
  local wait = 1
  if userLocked then wait = math.max(wait, redis.call('PTTL', KEYS[1])) end
  if addressLocked then wait = math.max(wait, redis.call('PTTL', KEYS[2])) end
  return wait
end
if ARGV[4] == '1' then
  for i = 1, 2 do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  end
end
return 0
`;

export const SUCCEEDED_LUA = `
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
`;
