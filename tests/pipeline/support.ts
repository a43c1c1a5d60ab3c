import fs from 'node:fs';
import { Redis } from 'ioredis';
import type { BroadcastMessage } from '../../src/pipeline/broadcast.js';
import { decodeEventFrame } from '../../src/pipeline/bus-frame.js';
import { ALL, WatchAnnouncer } from '../../src/pipeline/watched-groups.js';
import { redisKeys } from '../../src/redis-keys.js';
import type { Pool } from '../../src/db/pool.js';
import { type JobKind, jobKinds } from '../../src/db/job-kinds.js';
import { sharedFixture } from '../../src/paths.js';
import { submitUnifiedJob } from '../../src/scheduler/submit.js';

export const FIXTURE = sharedFixture('runner-events.jsonl');

export function fixtureEvents(): Record<string, unknown>[] {
  return fs.readFileSync(FIXTURE, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

let seq = 0;
/** An organization, an inventory with the fixture's hosts, and a unified job of `kind`. */
export async function createJob(pool: Pool, kind: JobKind = 'job', fields: Record<string, unknown> = {}): Promise<{ id: number; inventoryId: number; orgId: number; hosts: Record<string, number> }> {
  const n = ++seq;
  const org = await pool.query(`INSERT INTO organizations (name) VALUES ($1) RETURNING id`, [`org-${process.pid}-${n}-${Math.random()}`]);
  const orgId = org.rows[0].id;
  const inv = await pool.query(`INSERT INTO inventories (name, organization_id) VALUES ($1, $2) RETURNING id`, [`inv-${n}`, orgId]);
  const inventoryId = inv.rows[0].id;
  const hosts: Record<string, number> = {};
  for (const h of ['h1', 'h2', 'h3', 'h4', 'down']) {
    const r = await pool.query(`INSERT INTO hosts (name, inventory_id) VALUES ($1, $2) RETURNING id`, [h, inventoryId]);
    hosts[h] = r.rows[0].id;
  }
  const id = await submitUnifiedJob(pool, { kind, name: `job-${n}`, organization_id: orgId, inventory_id: inventoryId, ...fields });
  return { id, inventoryId, orgId, hosts };
}

/** The fixture's events addressed to job `id` of `kind`, with an EOF. */
export function jobStream(kind: JobKind, id: number, events = fixtureEvents()): Record<string, unknown>[] {
  const ref = jobKinds[kind].refField;
  const out = events.map((e) => ({ ...e, [ref]: id }));
  out.push({ event: 'EOF', final_counter: events.length, [ref]: id });
  return out;
}

export async function push(redis: Redis, queue: string, items: (Record<string, unknown> | string | Buffer)[]): Promise<void> {
  for (let i = 0; i < items.length; i += 1000) {
    const chunk = items.slice(i, i + 1000).map((x) => (typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x)));
    await redis.rpush(queue, ...chunk);
  }
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A bus tap as a test reads it: every message of both bus channels as `{group, messages}`
 * (event frames decoded, their messages parsed), announced as watching every group
 * (watched-groups.ts ALL) so receivers build frames for jobs no websocket client follows.
 */
export async function tapBus(redisUrl: string, config: { redisPrefix: string; callbackQueue: string },
  onMessage: (m: BroadcastMessage) => void): Promise<{ close(): Promise<void> }> {
  const keys = redisKeys(config);
  const sub = new Redis(redisUrl);
  sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
    if (channel.toString() === keys.eventFrameChannel) {
      const f = decodeEventFrame(payload);
      onMessage({ group: f.group, messages: f.messages.map((b) => JSON.parse(b.toString('utf8')) as Record<string, unknown>) });
    } else {
      onMessage(JSON.parse(payload.toString('utf8')) as BroadcastMessage);
    }
  });
  await sub.subscribe(keys.broadcastChannel, keys.eventFrameChannel);
  const announcerRedis = new Redis(redisUrl);
  const announcer = new WatchAnnouncer(announcerRedis, keys, `test-tap-${process.pid}-${Math.random()}`, () => [ALL]);
  await announcer.sync();
  return {
    async close() {
      await announcer.close();
      announcerRedis.disconnect();
      sub.disconnect();
    },
  };
}
