import { log } from '../../log.js';
import { metrics } from '../../metrics.js';
import type { WsClient } from './client.js';
import type { Frame } from './group-queue.js';

/**
 * The web process's group table (group → clients), in memory only: nothing about who
 * listens outlives the process, so a restart cannot leave stale memberships behind (AWX
 * keeps them in Redis zsets and deletes `asgi:*` by hand on start).
 *
 * `dispatch` appends one bus message's frames (bytes from the bus, or serialised once by
 * bus-subscriber.ts; shared by every client) to each member's bounded queue and marks the
 * member dirty; one setImmediate later every dirty client flushes. Nothing here waits on a socket, so a
 * stalled client costs the bus consumer a failed ring push per frame and nothing more.
 */

const overflowTotal = metrics.counter('ws_group_overflow_total', 'Websocket messages dropped because a client queue was full, by group.');
const sentTotal = metrics.counter('ws_messages_sent_total', 'Websocket messages handed to client sockets.');
const busTotal = metrics.counter('ws_bus_messages_total', 'Broadcast bus messages received by this web node.');
const closedTotal = metrics.counter('ws_over_capacity_closes_total', 'Clients closed for staying over capacity too long.');
const clientsGauge = metrics.gauge('ws_clients', 'Connected websocket clients.');
const depthGauge = metrics.gauge('ws_queue_depth', 'Queued websocket messages on this node: total and largest client.');
const groupDepthGauge = metrics.gauge('ws_group_queue_depth', 'Queued websocket messages on this node by group (the deepest groups; the rest as `other`).');

/** Groups named in the per-group depth (gauge and live figures); the rest are summed as `other`. */
const MAX_DEPTH_GROUPS = 50;

/** This node's websocket figures at one instant (live-figures.ts publishes them). */
export interface HubFigures {
  clients: number;
  depthTotal: number;
  depthLargestClient: number;
  /** The MAX_DEPTH_GROUPS deepest non-empty groups, plus `other`. */
  depthByGroup: Record<string, number>;
  overflowTotal: number;
  overflowByGroup: Record<string, number>;
  sentTotal: number;
  busTotal: number;
  overCapacityClosesTotal: number;
}

/** Distinct `group` labels kept on the overflow counter; past it they count as `other` (bounded memory). */
const MAX_GROUP_LABELS = 500;
const groupLabels = new Set<string>();

function groupLabel(group: string): string {
  if (groupLabels.has(group)) return group;
  if (groupLabels.size < MAX_GROUP_LABELS) { groupLabels.add(group); return group; }
  return 'other';
}

export interface HubOptions {
  /** Close a client whose queue stays over capacity this long (ms). */
  overflowCloseMs: number;
  /** At most one "N of M clients over capacity" line per group per this interval (ms). */
  overflowLogMs: number;
}

export class Hub {
  readonly groups = new Map<string, Set<WsClient>>();
  readonly clients = new Set<WsClient>();
  readonly #dirty = new Set<WsClient>();
  #flushScheduled = false;
  readonly #lastLog = new Map<string, number>();
  /** Messages dropped by this hub, by group label (bounded like the counter's labels). */
  readonly #overflowByGroup = new Map<string, number>();
  readonly #sweep: NodeJS.Timeout;

  /** The set of groups changed since the last announce (watched-groups.ts tells the receivers). */
  #groupsChanged = false;
  #announceScheduled = false;

  constructor(readonly options: HubOptions, readonly announce: () => Promise<void> = async () => {}) {
    // Once a second: close clients over capacity too long (their overflow began ≥ overflowCloseMs ago).
    this.#sweep = setInterval(() => this.sweep(Date.now()), 1000);
    this.#sweep.unref();
  }

  add(client: WsClient): void {
    this.clients.add(client);
    clientsGauge.set(this.clients.size);
  }

  remove(client: WsClient): void {
    for (const group of client.groups) this.leave(client, group);
    this.clients.delete(client);
    this.#dirty.delete(client);
    clientsGauge.set(this.clients.size);
  }

  join(client: WsClient, group: string): void {
    client.join(group);
    let members = this.groups.get(group);
    if (!members) { members = new Set(); this.groups.set(group, members); this.#groupsChanged = true; }
    members.add(client);
  }

  leave(client: WsClient, group: string): void {
    client.leave(group);
    const members = this.groups.get(group);
    if (!members) return;
    members.delete(client);
    if (members.size === 0) {
      this.groups.delete(group);
      this.#lastLog.delete(group);
      this.#groupsChanged = true;
      if (!this.#announceScheduled) {
        this.#announceScheduled = true;
        setImmediate(() => { this.#announceScheduled = false; void this.announceGroups(); });
      }
    }
  }

  /** Tells the receivers this node's groups if they changed; resolves once told (subscribe.ts waits before replying). */
  announceGroups(): Promise<void> {
    if (!this.#groupsChanged) return Promise.resolve();
    this.#groupsChanged = false;
    return this.announce();
  }

  /** Called once per bus message (counts it): whether any client here is in `group`. */
  wants(group: string): boolean {
    busTotal.inc();
    const members = this.groups.get(group);
    return members !== undefined && members.size > 0;
  }

  /** Fans one bus message's frames out to the group's members. Never blocks, never throws per client. */
  dispatch(group: string, frames: readonly Frame[], counters: ArrayLike<number>, now = Date.now()): void {
    const members = this.groups.get(group);
    if (!members || members.size === 0) return;
    let over = 0;
    for (const client of members) {
      let dropped = 0;
      for (let i = 0; i < frames.length; i++) if (!client.enqueue(group, frames[i], counters[i], now)) dropped++;
      if (dropped) { over++; this.#countOverflow(group, dropped); }
      this.markDirty(client);
    }
    if (over) this.#logOverflow(group, over, members.size, now);
  }

  markDirty(client: WsClient): void {
    this.#dirty.add(client);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Coalesce every bus message of this turn into one flush per client.
    setImmediate(() => this.flushDirty());
  }

  flushDirty(): void {
    this.#flushScheduled = false;
    let sent = 0;
    for (const client of this.#dirty) sent += client.flush();
    this.#dirty.clear();
    if (sent) sentTotal.inc(sent);
  }

  /** A socket drained: send it more. */
  drained(client: WsClient): void {
    const sent = client.flush();
    if (sent) sentTotal.inc(sent);
  }

  sweep(now: number): void {
    for (const client of this.clients) {
      const since = client.overflowingSince();
      if (since && now - since >= this.options.overflowCloseMs && !client.closed) {
        closedTotal.inc();
        log.warn('closing websocket client over capacity', { user: client.user.id, seconds: Math.round((now - since) / 1000) });
        client.closeOverCapacity();
      }
    }
  }

  /**
   * Queue depths (total, largest client, per group) and the running totals, refreshing the
   * depth gauges on the way. One pass over every (client, group) membership: 2,000 for
   * 1,000 clients in two groups each, a few hundred µs, twice a second.
   */
  figures(): HubFigures {
    let total = 0;
    let largest = 0;
    for (const client of this.clients) {
      const d = client.depth();
      total += d;
      if (d > largest) largest = d;
    }
    const depths: [string, number][] = [];
    for (const [group, members] of this.groups) {
      let d = 0;
      for (const client of members) d += client.groupDepth(group);
      if (d > 0) depths.push([group, d]);
    }
    depths.sort((a, b) => b[1] - a[1]);
    const depthByGroup: Record<string, number> = {};
    for (let i = 0; i < depths.length; i++) {
      const key = i < MAX_DEPTH_GROUPS ? depths[i][0] : 'other';
      depthByGroup[key] = (depthByGroup[key] ?? 0) + depths[i][1];
    }
    depthGauge.set(total, { which: 'total' });
    depthGauge.set(largest, { which: 'largest_client' });
    // Groups come and go: the gauge names only the groups deep right now.
    groupDepthGauge.values.clear();
    for (const [group, d] of Object.entries(depthByGroup)) groupDepthGauge.set(d, { group });
    const overflowByGroup: Record<string, number> = {};
    let overflow = 0;
    for (const [group, n] of this.#overflowByGroup) { overflowByGroup[group] = n; overflow += n; }
    return {
      clients: this.clients.size, depthTotal: total, depthLargestClient: largest, depthByGroup,
      overflowTotal: overflow, overflowByGroup, sentTotal: sentTotal.get(), busTotal: busTotal.get(),
      overCapacityClosesTotal: closedTotal.get(),
    };
  }

  #countOverflow(group: string, dropped: number): void {
    const label = groupLabel(group);
    overflowTotal.inc(dropped, { group: label });
    this.#overflowByGroup.set(label, (this.#overflowByGroup.get(label) ?? 0) + dropped);
  }

  #logOverflow(group: string, over: number, members: number, now: number): void {
    const last = this.#lastLog.get(group) ?? 0;
    if (now - last < this.options.overflowLogMs) return;
    this.#lastLog.set(group, now);
    log.info(`${over} of ${members} clients over capacity in group ${group}`);
  }

  close(): void {
    clearInterval(this.#sweep);
  }
}
