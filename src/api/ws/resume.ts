import { jobKinds, type JobKindInfo } from '../../db/job-kinds.js';
import type { ApiContext } from '../context.js';
import type { ResumeBuffer, WsClient } from './client.js';
import { eventMessageJson } from '../../pipeline/event-json.js';
import { EVENT_COLUMN_LIST, eventRowFromDb } from '../../pipeline/event-row.js';
import type { GroupQueue } from './group-queue.js';
import type { Hub } from './hub.js';

/**
 * `{"resume": {"job_events-42": 1500}}`: the stored events after counter 1500, then live,
 * with no gap and no duplicate at the seam.
 *
 * 1. From now on the group's live frames go to a side queue (`pending`, bounded like any
 *    other); frames already queued move there too, so everything live comes after the
 *    stored events. For a group the same message joins, this is done as it is joined
 *    (holdLive, before anything awaits): a live frame arriving meanwhile would otherwise be
 *    sent ahead of the stored events, and again from the database.
 * 2. Stored events are read in counter order, PAGE rows at a time, each page queued only
 *    when the client's queue has room for it (a resume never overflows by itself), and
 *    each counter sent is marked in a bitset.
 * 3. Seam, in one synchronous step after the last page (no live frame can slip between):
 *    pending frames whose counter is in the bitset are dropped, the rest are queued in
 *    arrival order. Emit-after-commit makes this complete: an event committed after a
 *    page was read is published after that, so it is in `pending`. A bitset, not "skip
 *    counters ≤ the last stored one", because receiver workers commit batches out of
 *    counter order; it costs one bit per stored event (125 KB per million).
 * 4. A stored event's announcement may still be on its way when the seam passes (the
 *    receiver publishes after it commits), so the bitset keeps filtering the group's live
 *    frames for SEAM_GRACE_MS more; publish follows commit by milliseconds, 10 s covers a
 *    Redis hiccup between them.
 */
const SEAM_GRACE_MS = 10_000;
const PAGE = 500;
const ROOM_POLL_MS = 10;

const kindByGroup = new Map<string, JobKindInfo>(Object.values(jobKinds).map((k) => [k.eventGroup, k]));

class CounterSet {
  #bits = new Uint8Array(1024);
  add(n: number): void {
    const byte = n >> 3;
    if (byte >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    this.#bits[byte] |= 1 << (n & 7);
  }
  has(n: number): boolean {
    const byte = n >> 3;
    return byte < this.#bits.length && (this.#bits[byte] & (1 << (n & 7))) !== 0;
  }
}

/** Step 1, synchronous: the group's live frames wait in a side queue from now on. Undefined if it cannot be resumed or a resume of it is under way. */
export function holdLive(client: WsClient, group: string): ResumeBuffer | undefined {
  const queue = client.queues.get(group);
  if (!queue || client.resuming.has(group) || !kindByGroup.has(group.slice(0, group.lastIndexOf('-')))) return undefined;
  const pending = client.newQueue(group);
  const now = Date.now();
  for (let c = queue.peekCounter(), f = queue.shift(); f !== undefined; c = queue.peekCounter(), f = queue.shift()) {
    pending.push(f, c, now);
  }
  const buffer = { pending };
  client.resuming.set(group, buffer);
  return buffer;
}

/** A resume of `group` after counter `after`; `held` is the side queue holdLive made as the group was joined. */
export async function startResume(client: WsClient, group: string, after: number, ctx: ApiContext, hub: Hub, held?: ResumeBuffer): Promise<void> {
  const dash = group.lastIndexOf('-');
  const kind = kindByGroup.get(group.slice(0, dash));
  const jobId = Number(group.slice(dash + 1));
  if (!kind || !Number.isSafeInteger(jobId)) {
    client.sendNow({ error: `cannot resume ${group}: not an event group` });
    return;
  }
  const queue = client.queues.get(group)!;
  const buffer = held ?? holdLive(client, group);
  if (!buffer) return;
  const { pending } = buffer;
  const stillResuming = () => !client.closed && client.resuming.get(group) === buffer && client.queues.get(group) === queue;

  const job = await ctx.pool.query<{ created: Date }>('SELECT created FROM unified_jobs WHERE id = $1', [jobId]);
  const jobCreated = job.rows[0]?.created;
  const sent = new CounterSet();
  let last = after;
  const page = Math.max(1, Math.min(PAGE, queue.capacity >> 1));
  for (;;) {
    while (queue.size > 0 && queue.size + page > queue.capacity && stillResuming()) await new Promise((r) => setTimeout(r, ROOM_POLL_MS));
    if (!stillResuming()) return;
    const { rows } = jobCreated
      ? await ctx.pool.query(
        `SELECT ${EVENT_COLUMN_LIST} FROM ${kind.eventTable} WHERE job_id = $1 AND job_created = $2 AND counter > $3 ORDER BY counter LIMIT ${page}`,
        [jobId, jobCreated, last])
      : { rows: [] as Record<string, unknown>[] };
    if (!stillResuming()) return;
    const at = Date.now();
    for (const row of rows) {
      const event = eventRowFromDb(row);
      queue.push(eventMessageJson(event, kind), event.counter, at);
      sent.add(event.counter);
      last = event.counter;
    }
    if (rows.length) hub.markDirty(client);
    if (rows.length < page) break;
  }

  // The seam: synchronous from here on.
  moveHeld(pending, queue, sent);
  client.resuming.delete(group);
  client.seamFilters.set(group, { sent, until: Date.now() + SEAM_GRACE_MS });
  hub.markDirty(client);
}

/** Undoes holdLive for a resume refused after its group was joined: the held frames go out live, in order. */
export function releaseHold(client: WsClient, group: string, held: ResumeBuffer | undefined): void {
  if (!held || client.resuming.get(group) !== held) return;
  client.resuming.delete(group);
  const queue = client.queues.get(group);
  if (queue) moveHeld(held.pending, queue);
}

/** Held frames onto the group's queue in arrival order (those of a counter in `skip` dropped), then a notice of any the side queue dropped. */
function moveHeld(pending: GroupQueue, queue: GroupQueue, skip?: CounterSet): void {
  const at = Date.now();
  for (let c = pending.peekCounter(), f = pending.shift(); f !== undefined; c = pending.peekCounter(), f = pending.shift()) {
    if (skip && c >= 0 && skip.has(c)) continue;
    queue.push(f, c, at);
  }
  const missed = pending.takeMissed();
  if (missed) queue.push(queue.makeNotice(missed), -1, at);
}
