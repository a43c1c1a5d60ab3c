/**
 * Redis script `psPopBatch`: moves up to ARGV[1] items from the head of the intake list to
 * the tail of a worker's processing list, atomically, and returns the processing list from
 * index ARGV[2] on.
 *
 *   KEYS[1]  intake list (producers RPUSH)
 *   KEYS[2]  this worker's processing list
 *   ARGV[1]  how many to move (≤ 1000: unpack() of more would strain Lua's C stack)
 *   ARGV[2]  how many items of the processing list the caller already holds
 *   returns  LRANGE processing ARGV[2] -1 (possibly empty)
 *
 * Returning "everything past what I hold" rather than "what I just moved" makes the call
 * idempotent: when a reply is lost (Redis restarts after executing it, ioredis resends
 * it), the resent call still hands back the items the lost reply carried, so nothing sits
 * in the processing list unseen and then gets acknowledged unstored.
 */
export const POP_BATCH_LUA = `
local moved = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
if moved then
  redis.call('RPUSH', KEYS[2], unpack(moved))
end
return redis.call('LRANGE', KEYS[2], tonumber(ARGV[2]), -1)
`;

export const POP_BATCH_MAX = 1000;
