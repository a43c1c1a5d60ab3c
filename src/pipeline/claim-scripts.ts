/**
 * The receiver's Redis scripts. Events move from the intake list to a worker's processing
 * list (a "slot") by RENAME of the whole list, never item by item: O(1) in Redis and one
 * short line in the append-only file, where moving items by value (LPOP + RPUSH, or LMOVE
 * per item) cost Redis 6–9 µs of CPU per event with AOF on, more than everything else it
 * does for an event (docs/benchmarks.md). A slot is then read in batches with LRANGE and
 * acknowledged from its head with LTRIM as each batch commits.
 *
 * CLAIM_LUA — take the whole intake list into an empty slot, and read its first items.
 *   KEYS[1]  intake list (producers RPUSH)
 *   KEYS[2]  the slot: must not exist (RENAME would overwrite it)
 *   KEYS[3]  the slot's epoch counter (never deleted)
 *   ARGV[1]  how many of the claimed items to return (> 0)
 *   returns  {n, epoch, item…}: n items claimed under a new epoch and the first
 *            min(n, ARGV[1]) of them (the read the caller would send next, in the same
 *            round trip); {0, 0} when the intake list is empty; {-1, 0} when the slot is not
 *            empty (the caller's view of it is stale: it must re-read it, as after a claim
 *            whose reply was lost and resent)
 *
 * ACK_LUA — drop a committed batch from the head of a slot, once.
 *   KEYS[1]  the slot
 *   KEYS[2]  the slot's epoch counter
 *   ARGV[1]  the batch's size n (> 0)
 *   ARGV[2]  the slot's length the caller expects before this ack
 *   ARGV[3]  the epoch of the fill the batch came from
 *   returns  1 when trimmed; 0 when the epoch or the length is not the expected one: the
 *            ack already ran (ioredis resends a command whose reply a dropped connection
 *            lost) or the caller's view is stale. Either way the caller re-reads the slot.
 *
 * The guard makes the ack idempotent: within one epoch a slot only shrinks (only a claim
 * fills a slot, and only an empty one), so its length names the ack it is waiting for, and
 * the epoch keeps a late ack off a later fill of the same slot.
 *
 * Both are sent with EVAL, not EVALSHA: EVAL needs no NOSCRIPT retry after a Redis
 * restart, so every command reaches Redis in the order the worker sent it, which its view
 * of a slot relies on (receiver-worker.ts).
 */
export const CLAIM_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {-1, 0} end
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return {0, 0} end
redis.call('RENAME', KEYS[1], KEYS[2])
local out = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
table.insert(out, 1, redis.call('INCR', KEYS[3]))
table.insert(out, 1, n)
return out
`;

export const ACK_LUA = `
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[3]) then return 0 end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[2]) then return 0 end
redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1)
return 1
`;

/** Items read from a slot per LRANGE (and the largest batch a replay stores at once). */
export const READ_MAX = 1000;
