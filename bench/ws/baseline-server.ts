import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeEventFrame } from '../../src/pipeline/bus-frame.js';
import { ALL, WatchAnnouncer } from '../../src/pipeline/watched-groups.js';
import type { RedisKeys } from '../../src/redis-keys.js';

/**
 * The baseline: what most Node projects would write — the `ws` package, a Redis
 * subscriber, and for every bus message each message stringified and sent to every
 * member of the group, with no queue bound and no batching. Same wire protocol subset as
 * ours (accept, groups), no auth, so the comparison is fan-out only. It reads the bus as
 * such a server would: each event frame's messages parsed (bus-frame.ts), then stringified
 * per member; it announces a watcher of every group, so the receiver builds every frame.
 */
export async function runBaselineServer(redisUrl: string, keys: RedisKeys, port: number): Promise<void> {
  const groups = new Map<string, Set<WebSocket>>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
  const listening = new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => {
    const mine = new Set<string>();
    ws.send(JSON.stringify({ accept: true, user: 1 }));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { groups?: Record<string, (string | number)[]> };
      for (const g of mine) groups.get(g)?.delete(ws);
      mine.clear();
      for (const [name, ids] of Object.entries(msg.groups ?? {})) {
        for (const id of ids) {
          const g = `${name}-${id}`;
          mine.add(g);
          if (!groups.has(g)) groups.set(g, new Set());
          groups.get(g)!.add(ws);
        }
      }
      ws.send(JSON.stringify({ groups_current: [...mine], groups_left: [], groups_joined: [...mine] }));
    });
    ws.on('close', () => { for (const g of mine) groups.get(g)?.delete(ws); });
  });
  const sub = new Redis(redisUrl);
  sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
    const m = channel.toString() === keys.eventFrameChannel
      ? (({ group, messages }) => ({ group, messages: messages.map((b) => JSON.parse(b.toString('utf8')) as unknown) }))(decodeEventFrame(payload))
      : JSON.parse(payload.toString('utf8')) as { group: string; messages: unknown[] };
    const members = groups.get(m.group);
    if (!members) return;
    for (const item of m.messages) for (const ws of members) ws.send(JSON.stringify(item));
  });
  await sub.subscribe(keys.broadcastChannel, keys.eventFrameChannel);
  const announcer = new WatchAnnouncer(new Redis(redisUrl), keys, `baseline-${process.pid}`, () => [ALL]);
  await announcer.sync();
  await listening;
  process.send?.({ type: 'ready', port });
}
