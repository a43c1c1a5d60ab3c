import type { Redis } from 'ioredis';
import { log } from '../../log.js';
import { metrics } from '../../metrics.js';
import type { BroadcastMessage } from '../../pipeline/broadcast.js';
import { createRedis } from '../../runtime.js';

/**
 * This web node's subscription to the broadcast bus. Every node subscribes to the one
 * channel, so a browser on any node sees events processed on any node. ioredis reconnects
 * with createRedis' backoff (backoff.ts FAST: 50 ms doubling to 2 s, plus jitter) and
 * re-subscribes by itself; pub/sub does not replay what was published meanwhile, so each
 * reconnect is counted and logged — a client that cares resumes by counter.
 */
const reconnects = metrics.counter('ws_bus_reconnects_total', 'Times the web node re-subscribed to the broadcast bus.');
const badMessages = metrics.counter('ws_bus_bad_messages_total', 'Broadcast bus messages that did not parse.');

export interface BusSubscriber {
  ready: Promise<void>;
  close(): void;
}

export function subscribeBus(redisUrl: string, channel: string, onMessage: (m: BroadcastMessage) => void): BusSubscriber {
  const sub: Redis = createRedis(redisUrl, 'web-bus');
  let first = true;
  const ready = new Promise<void>((resolve) => {
    sub.on('ready', () => {
      if (!first) { reconnects.inc(); log.warn('re-subscribed to the broadcast bus; messages published meanwhile were missed'); }
      first = false;
      resolve();
    });
  });
  sub.on('messageBuffer', (_channel: Buffer, payload: Buffer) => {
    let message: BroadcastMessage;
    try {
      message = JSON.parse(payload.toString('utf8')) as BroadcastMessage;
      if (typeof message.group !== 'string' || !Array.isArray(message.messages)) throw new Error('not a BroadcastMessage');
    } catch (err) {
      badMessages.inc();
      log.warn('bad broadcast message', { err });
      return;
    }
    onMessage(message);
  });
  const subscribed = sub.subscribe(channel);
  return {
    ready: Promise.all([ready, subscribed]).then(() => undefined),
    close: () => sub.disconnect(),
  };
}
