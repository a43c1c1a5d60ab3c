import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { log } from '../../log.js';
import { publishBroadcast } from '../../pipeline/broadcast.js';
import type { Hub } from './hub.js';

/**
 * This web node's websocket figures, published on the broadcast bus as a `metrics` message
 * every 500 ms, so the console's lag dashboard sees every node's queues and overflow live
 * (its /api/v2/metrics/ poll only reaches the node that answers it, every 2 s). Receivers
 * publish their own `metrics` messages (pipeline-metrics.ts); `type: "websocket"` tells
 * them apart, and `node` + `instance` name the process.
 */
export const LIVE_FIGURES_INTERVAL_MS = 500;

export interface WsLiveFigures {
  group_name: 'metrics';
  type: 'websocket';
  node: string;
  instance: string;
  at: number;
  clients: number;
  sent_per_s: number;
  sent_total: number;
  bus_messages_per_s: number;
  queue_depth: { total: number; largest_client: number; by_group: Record<string, number> };
  overflow: { total: number; per_s: number; by_group: Record<string, number> };
  over_capacity_closes_total: number;
}

export function startLiveFigures(opts: { hub: Hub; redis: Redis; channel: string; node: string }): () => void {
  const instance = `${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  let last = { at: Date.now(), ...opts.hub.figures() };
  let publishing = false;
  const tick = () => {
    const now = Date.now();
    const f = opts.hub.figures();
    const dt = Math.max(1, now - last.at) / 1000;
    const rate = (a: number, b: number) => Math.round((a - b) / dt);
    const message: WsLiveFigures = {
      group_name: 'metrics', type: 'websocket', node: opts.node, instance, at: now,
      clients: f.clients,
      sent_per_s: rate(f.sentTotal, last.sentTotal), sent_total: f.sentTotal,
      bus_messages_per_s: rate(f.busTotal, last.busTotal),
      queue_depth: { total: f.depthTotal, largest_client: f.depthLargestClient, by_group: f.depthByGroup },
      overflow: { total: f.overflowTotal, per_s: rate(f.overflowTotal, last.overflowTotal), by_group: f.overflowByGroup },
      over_capacity_closes_total: f.overCapacityClosesTotal,
    };
    last = { at: now, ...f };
    // A slow Redis must not stack publishes up: skip a tick rather than queue behind it.
    if (publishing) return;
    publishing = true;
    publishBroadcast(opts.redis, opts.channel, { group: 'metrics', messages: [message as unknown as Record<string, unknown>] })
      .catch((err: Error) => log.debug('websocket figures publish failed', { err: err.message }))
      .finally(() => { publishing = false; });
  };
  const timer = setInterval(tick, LIVE_FIGURES_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
