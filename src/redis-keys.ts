/**
 * Every Redis key and pub/sub channel Playstream uses, derived from the configured prefix
 * in one place so tests (and tenants sharing a Redis) stay apart. Nothing else in the code
 * spells a key.
 */
export interface RedisKeys {
  /** The list producers RPUSH events onto (the receiver's intake). */
  callbackQueue: string;
  /** Pub/sub channel of the broadcast bus (receiver/scheduler → every web node). */
  broadcastChannel: string;
  /**
   * Pub/sub channel of the bus's event frames (receiver → every web node; bus-frame.ts).
   * Apart from broadcastChannel so JSON readers of the bus never meet bytes; a web node
   * subscribes to both on one connection, which keeps their publish order.
   */
  eventFrameChannel: string;
  /** A receiver worker's processing list (slot 0 or 1; receiver.ts). */
  processing(node: string, worker: number, slot?: 0 | 1): string;
  /** What every processing list of `node` starts with (followed by `<worker>[:1]`). */
  processingPrefix(node: string): string;
  /** A receiver process's metrics snapshot (pipeline-metrics.ts), and the set naming them all. */
  receiverSnapshot(node: string, instance: string): string;
  receiverSnapshots: string;
  /** Failed password checks by hashed username and by client network (api/auth-throttle.ts). */
  authFailures(by: 'user' | 'address', id: string): string;
  /** Hash: web node instance → the websocket groups its clients are in (pipeline/watched-groups.ts). */
  watchedGroups: string;
  /** Pub/sub channel naming the web node whose entry in `watchedGroups` changed. */
  watchedGroupsChannel: string;
}

export function redisKeys(config: { redisPrefix: string; callbackQueue: string }): RedisKeys {
  const ns = `${config.redisPrefix}playstream:`;
  const processingPrefix = (node: string) => `${ns}receiver:processing:${node}:`;
  return {
    callbackQueue: config.redisPrefix + config.callbackQueue,
    broadcastChannel: `${ns}broadcast`,
    eventFrameChannel: `${ns}broadcast:events`,
    processing: (node, worker, slot = 0) => `${processingPrefix(node)}${worker}${slot ? ':1' : ''}`,
    processingPrefix,
    receiverSnapshot: (node, instance) => `${ns}receiver:metrics:${node}:${instance}`,
    receiverSnapshots: `${ns}receiver:metrics`,
    authFailures: (by, id) => `${ns}auth:failures:${by}:${id}`,
    watchedGroups: `${ns}ws:watched`,
    watchedGroupsChannel: `${ns}ws:watched`,
  };
}
