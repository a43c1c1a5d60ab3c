import type { BroadcastMessage } from './broadcast.js';
import { ByteWriter } from './byte-writer.js';
import { eventMessageJson } from './event-message-json.js';
import type { StoreOutcome } from './store-batch.js';

/**
 * What a committed batch announces on the broadcast bus, built only from StoreOutcome (the
 * rows that committed, never the rows that were attempted, and the rows found committed
 * by an earlier attempt that did not announce them): one message per (batch, job)
 * to `${eventGroup}-${jobId}` with the stored events in AWX's websocket shape, then a
 * `jobs-summary` per job whose EOF was in the batch or whose processing finished in it.
 *
 * Returned as the JSON of each BroadcastMessage, ready to PUBLISH: the event messages are
 * written by event-message-json.ts, not stringified from objects, and each group's message
 * is encoded straight into one buffer (byte-writer.ts).
 */
export function batchMessages(outcome: StoreOutcome): (Buffer | string)[] {
  const groups = new Map<string, { messages: { counter: number; json: string }[]; lo: number; hi: number; sorted: boolean }>();
  for (const s of [...outcome.restored, ...outcome.stored]) {
    const group = `${s.job.kind.eventGroup}-${s.job.id}`;
    let g = groups.get(group);
    if (!g) groups.set(group, g = { messages: [], lo: Infinity, hi: -Infinity, sorted: true });
    const e = s.e;
    const json = eventMessageJson({
      id: s.id, created: s.stored?.created ?? (e.created || outcome.modified), modified: s.stored?.modified ?? outcome.modified, jobId: s.job.id, event: e.event, counter: e.counter,
      eventDataText: e.eventDataText, eventData: e.eventData, failed: e.failed, changed: e.changed, uuid: e.uuid, parentUuid: e.parentUuid,
      hostId: s.hostId, hostName: e.hostName, playbook: e.playbook, play: e.play, role: e.role, task: e.task, stdout: e.stdout,
      startLine: e.startLine, endLine: e.endLine, verbosity: e.verbosity,
    }, s.job.kind);
    if (e.counter < g.hi) g.sorted = false;
    g.messages.push({ counter: e.counter, json });
    if (e.counter < g.lo) g.lo = e.counter;
    if (e.counter > g.hi) g.hi = e.counter;
  }
  const out: (Buffer | string)[] = [];
  for (const [group, g] of groups) {
    if (!g.sorted) g.messages.sort((a, b) => a.counter - b.counter);
    let estimate = 64;
    for (const m of g.messages) estimate += m.json.length + 1;
    const w = new ByteWriter(Math.ceil(estimate * 1.1)).write(`{"group":${JSON.stringify(group)},"messages":[`);
    for (let i = 0; i < g.messages.length; i++) {
      if (i) w.ascii(',');
      w.write(g.messages[i].json);
    }
    out.push(w.ascii(`],"counterRange":[${g.lo},${g.hi}]}`).bytes());
  }
  for (const j of outcome.jobs) {
    if (!j.eofInBatch && !j.finishedNow) continue;
    const m: BroadcastMessage = { group: 'jobs-summary', messages: [{ group_name: 'jobs', unified_job_id: j.jobId, type: j.row.kind,
      final_counter: j.finalCounter, event_processing_finished: j.row.event_processing_finished, status: j.row.status }] };
    out.push(JSON.stringify(m));
  }
  return out;
}
