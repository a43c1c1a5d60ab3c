import type { Redis } from 'ioredis';
import { log } from '../../log.js';
import { metrics } from '../../metrics.js';
import type { BroadcastMessage } from '../../pipeline/broadcast.js';
import { decodeEventFrame, eventFrameGroup, isEventFrame } from '../../pipeline/bus-frame.js';
import { createRedis } from '../../runtime.js';
import type { Frame } from './group-queue.js';

/**
 * This web node's subscription to the broadcast bus. Every node subscribes to the one
 * channel, so a browser on any node sees events processed on any node. ioredis reconnects
 * with createRedis' backoff (backoff.ts FAST: 50 ms doubling to 2 s, plus jitter) and
 * re-subscribes by itself; pub/sub does not replay what was published meanwhile, so each
 * reconnect is counted and logged — a client that cares resumes by counter.
 *
 * The receiver's event frames (bus-frame.ts) are read as bytes: the group from the header,
 * and, only when some client here is in it, each message sliced out of the payload and
 * handed on as it is — no event JSON is parsed or written on this node. Other messages
 * (status changes, summaries, metrics: small and few) are JSON (broadcast.ts), parsed and
 * written once per node.
 */
const reconnects = metrics.counter('ws_bus_reconnects_total', 'Times the web node re-subscribed to the broadcast bus.');
const badMessages = metrics.counter('ws_bus_bad_messages_total', 'Broadcast bus messages that did not parse.');

export interface BusSubscriber {
  ready: Promise<void>;
  close(): void;
}

export interface BusSink {
  /** Called once per bus message: whether any client on this node is in `group` (others are skipped before slicing). */
  wants(group: string): boolean;
  /** One bus message's frames for `group`, ready to send, with each one's event counter (-1: none). */
  deliver(group: string, frames: Frame[], counters: ArrayLike<number>): void;
}

function parseJson(payload: Buffer): BroadcastMessage {
  const message = JSON.parse(payload.toString('utf8')) as BroadcastMessage;
  if (typeof message.group !== 'string' || !Array.isArray(message.messages)) throw new Error('not a BroadcastMessage');
  return message;
}

export function subscribeBus(redisUrl: string, channels: { json: string; frames: string }, sink: BusSink): BusSubscriber {
  const framesChannel = Buffer.from(channels.frames);
  const sub: Redis = createRedis(redisUrl, 'web-bus');
  let first = true;
  const ready = new Promise<void>((resolve) => {
    sub.on('ready', () => {
      if (!first) { reconnects.inc(); log.warn('re-subscribed to the broadcast bus; messages published meanwhile were missed'); }
      first = false;
      resolve();
    });
  });
  sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
    try {
      if (channel.equals(framesChannel)) {
        if (!isEventFrame(payload)) throw new Error('not an event frame');
        if (!sink.wants(eventFrameGroup(payload))) return;
        const f = decodeEventFrame(payload);
        sink.deliver(f.group, f.messages, f.counters);
      } else {
        const m = parseJson(payload);
        if (!sink.wants(m.group)) return;
        sink.deliver(m.group, m.messages.map((x) => JSON.stringify(x)), m.messages.map((x) => (typeof x.counter === 'number' ? x.counter : -1)));
      }
    } catch (err) {
      badMessages.inc();
      log.warn('bad broadcast message', { err });
    }
  });
  const subscribed = sub.subscribe(channels.json, channels.frames);
  return {
    ready: Promise.all([ready, subscribed]).then(() => undefined),
    close: () => sub.disconnect(),
  };
}
