import type { BroadcastMessage } from './broadcast.js';
import { encodeEventFrame } from './bus-frame.js';
import { eventMessageJson } from './event-json.js';
import type { StoreOutcome } from './store-batch.js';

/**
 * What a committed batch announces on the broadcast bus, built only from StoreOutcome (the
 * rows that committed, never the rows that were attempted, and the rows found committed
 * by an earlier attempt that did not announce them): one event frame (bus-frame.ts, for the
 * event frame channel) per (batch, job) to `${eventGroup}-${jobId}` with the stored events in AWX's websocket shape,
 * in counter order, then a `jobs-summary` per job whose EOF was in the batch or whose
 * processing finished in it (JSON, for the broadcast channel). The worker publishes the
 * frames first.
 *
 * `watched(group)` says whether anybody on any web node is in the group
 * (watched-groups.ts): no frame — no message text — is built for a group nobody watches.
 */
export function batchMessages(outcome: StoreOutcome, watched: (group: string) => boolean = () => true): { frames: Buffer[]; messages: string[] } {
  const groups = new Map<string, { counter: number; json: string }[] | null>();
  for (const list of [outcome.restored, outcome.stored]) {
    for (const s of list) {
      const row = s.e.row;
      const group = `${s.job.kind.eventGroup}-${row.job_id}`;
      let messages = groups.get(group);
      if (messages === undefined) groups.set(group, messages = watched(group) ? [] : null);
      messages?.push({ counter: row.counter, json: eventMessageJson(row, s.job.kind, s.e.eventData) });
    }
  }
  const frames: Buffer[] = [];
  for (const [group, messages] of groups) {
    if (!messages) continue;
    for (let i = 1; i < messages.length; i++) {
      if (messages[i].counter < messages[i - 1].counter) { messages.sort((a, b) => a.counter - b.counter); break; }
    }
    frames.push(encodeEventFrame(group, messages));
  }
  const out: string[] = [];
  for (const j of outcome.jobs) {
    if (!j.eofInBatch && !j.finishedNow) continue;
    const m: BroadcastMessage = { group: 'jobs-summary', messages: [{ group_name: 'jobs', unified_job_id: j.jobId, type: j.row.kind,
      final_counter: j.finalCounter, event_processing_finished: j.row.event_processing_finished, status: j.row.status }] };
    out.push(JSON.stringify(m));
  }
  return { frames, messages: out };
}
