/**
 * Every Redis key and pub/sub channel Playstream uses, derived from the configured prefix
 * in one place so tests (and tenants sharing a Redis) stay apart.
 */
export interface RedisKeys {
  /** The list producers RPUSH events onto (the receiver's intake). */
  callbackQueue: string;
  /** Pub/sub channel of the broadcast bus (receiver/scheduler → every web node). */
  broadcastChannel: string;
  /** Prefix for anything else a part needs: `${keys.ns}receiver:processing:<worker>` etc. */
  ns: string;
}

export function redisKeys(config: { redisPrefix: string; callbackQueue: string }): RedisKeys {
  const p = config.redisPrefix;
  return { callbackQueue: p + config.callbackQueue, broadcastChannel: `${p}playstream:broadcast`, ns: `${p}playstream:` };
}
