import type { Redis } from 'ioredis';
import { log } from '../log.js';
import type { RedisKeys } from '../redis-keys.js';

/**
 * Which websocket groups anybody on any web node watches, so the receiver builds event
 * frames only for those (a job nobody follows costs no message text at all).
 *
 * Contract (keys in redis-keys.ts):
 *   HASH    watchedGroups         field: a web node instance; value: `<expires epoch ms> <group> <group> …`
 *   CHANNEL watchedGroupsChannel  message: the instance whose field changed
 * A web node (WatchAnnouncer) rewrites its field, then publishes, whenever its set of groups
 * changes — before it answers the subscribe that changed it, so by the time a client knows
 * it is subscribed, the receivers have been told — and every REFRESH_MS, with an expiry of
 * EXPIRE_MS (a node that died stops counting then). A receiver (WatchedGroups) reads the
 * whole hash at start, after each reconnect and every REFRESH_MS, and re-reads one field on
 * each message.
 *
 * An entry may name ALL (`*`): a bus tap that wants every frame (tests, benches).
 *
 * Errors lean towards sending: until a receiver has read the hash, and whenever its
 * subscription is down (changes could be missed), every group counts as watched.
 */
const REFRESH_MS = 5_000;
/** A group name meaning every group: what a bus tap announces (tests, benches). */
export const ALL = '*';
const EXPIRE_MS = 15_000;

function parseEntry(value: string | null, now: number): string[] | undefined {
  if (!value) return undefined;
  const parts = value.split(' ');
  if (!(Number(parts[0]) > now)) return undefined;
  return parts.slice(1);
}

/** The receiver's view: `has(group)`. */
export class WatchedGroups {
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #keys: RedisKeys;
  readonly #byNode = new Map<string, string[]>();
  #counts = new Map<string, number>();
  #known = false;
  readonly #timer: NodeJS.Timeout;

  /** `sub` becomes a subscriber connection (owned from here on); `redis` is shared for HGET/HGETALL. */
  constructor(redis: Redis, sub: Redis, keys: RedisKeys) {
    this.#redis = redis;
    this.#sub = sub;
    this.#keys = keys;
    sub.on('ready', () => { void sub.subscribe(keys.watchedGroupsChannel).then(() => this.#reload()).catch(() => {}); });
    sub.on('close', () => { this.#known = false; });
    sub.on('message', (_channel: string, node: string) => { void this.#reloadNode(node); });
    this.#timer = setInterval(() => void this.#reload(), REFRESH_MS);
    this.#timer.unref();
  }

  has(group: string): boolean {
    return !this.#known || this.#counts.has(group) || this.#counts.has(ALL);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#sub.disconnect();
  }

  async #reload(): Promise<void> {
    try {
      const all = await this.#redis.hgetall(this.#keys.watchedGroups);
      const now = Date.now();
      this.#byNode.clear();
      for (const [node, value] of Object.entries(all)) {
        const groups = parseEntry(value, now);
        if (groups) this.#byNode.set(node, groups);
        else void this.#redis.hdel(this.#keys.watchedGroups, node).catch(() => {});
      }
      this.#recount();
      this.#known = this.#sub.status === 'ready';
    } catch (err) {
      log.debug('reading the watched websocket groups failed', { err: (err as Error).message });
    }
  }

  async #reloadNode(node: string): Promise<void> {
    try {
      const groups = parseEntry(await this.#redis.hget(this.#keys.watchedGroups, node), Date.now());
      if (groups) this.#byNode.set(node, groups); else this.#byNode.delete(node);
      this.#recount();
    } catch (err) {
      this.#known = false;
      log.debug('reading a web node\'s watched groups failed', { node, err: (err as Error).message });
    }
  }

  #recount(): void {
    const counts = new Map<string, number>();
    for (const groups of this.#byNode.values()) for (const g of groups) counts.set(g, (counts.get(g) ?? 0) + 1);
    this.#counts = counts;
  }
}

/** A web node's side: `sync(groups)` resolves once the receivers have been told. */
export class WatchAnnouncer {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;
  readonly #node: string;
  readonly #groups: () => Iterable<string>;
  #dirty = false;
  #writing: Promise<void> | undefined;
  #closed = false;
  readonly #timer: NodeJS.Timeout;

  constructor(redis: Redis, keys: RedisKeys, node: string, groups: () => Iterable<string>) {
    this.#redis = redis;
    this.#keys = keys;
    this.#node = node;
    this.#groups = groups;
    this.#timer = setInterval(() => void this.sync(), REFRESH_MS);
    this.#timer.unref();
  }

  /** Writes the current groups (coalescing calls made while a write is in flight). Never rejects. */
  sync(): Promise<void> {
    this.#dirty = true;
    this.#writing ??= this.#loop();
    return this.#writing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#writing;
    await this.#redis.multi().hdel(this.#keys.watchedGroups, this.#node).publish(this.#keys.watchedGroupsChannel, this.#node).exec()
      .catch(() => {});
  }

  async #loop(): Promise<void> {
    try {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false;
        const value = [Date.now() + EXPIRE_MS, ...this.#groups()].join(' ');
        try {
          await this.#redis.multi().hset(this.#keys.watchedGroups, this.#node, value)
            .publish(this.#keys.watchedGroupsChannel, this.#node).exec();
        } catch (err) {
          log.warn('announcing this node\'s websocket groups failed', { err: (err as Error).message });
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }
}
