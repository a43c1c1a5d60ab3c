import type { Redis } from 'ioredis';
import { type BroadcastMessage, publishBroadcast } from './broadcast.js';
import { serializeEvent } from './event-serializer.js';
import type { StoreOutcome } from './store-batch.js';

/**
 * What a committed batch announces on the broadcast bus, built only from StoreOutcome (the
 * rows that committed, never the rows that were attempted): one message per (batch, job)
 * to `${eventGroup}-${jobId}` with the stored events in AWX's websocket shape, then a
 * `jobs-summary` per job whose EOF was in the batch or whose processing finished in it.
 */
export function batchMessages(outcome: StoreOutcome): BroadcastMessage[] {
  const groups = new Map<string, { messages: Record<string, unknown>[]; lo: number; hi: number }>();
  for (const s of outcome.stored) {
    const group = `${s.job.kind.eventGroup}-${s.job.id}`;
    let g = groups.get(group);
    if (!g) groups.set(group, g = { messages: [], lo: Infinity, hi: -Infinity });
    const e = s.e;
    const msg = serializeEvent({
      id: s.id, created: e.created || outcome.modified, modified: outcome.modified, job_id: s.job.id, event: e.event,
      event_data: e.eventData, failed: e.failed, changed: e.changed, uuid: e.uuid, parent_uuid: e.parentUuid, counter: e.counter,
      stdout: e.stdout, verbosity: e.verbosity, start_line: e.startLine, end_line: e.endLine, host_id: s.hostId,
      host_name: e.hostName, playbook: e.playbook, play: e.play, role: e.role, task: e.task,
    }, s.job.kind);
    msg.group_name = s.job.kind.eventGroup;
    g.messages.push(msg);
    if (e.counter < g.lo) g.lo = e.counter;
    if (e.counter > g.hi) g.hi = e.counter;
  }
  const out: BroadcastMessage[] = [];
  for (const [group, g] of groups) {
    g.messages.sort((a, b) => (a.counter as number) - (b.counter as number));
    out.push({ group, messages: g.messages, counterRange: [g.lo, g.hi] });
  }
  for (const j of outcome.jobs) {
    if (!j.eofInBatch && !j.finishedNow) continue;
    out.push({ group: 'jobs-summary', messages: [{ group_name: 'jobs', unified_job_id: j.jobId, type: j.row.kind,
      final_counter: j.finalCounter, event_processing_finished: j.row.event_processing_finished, status: j.row.status }] });
  }
  return out;
}

export async function publishBatch(redis: Redis, channel: string, messages: BroadcastMessage[]): Promise<void> {
  for (const m of messages) await publishBroadcast(redis, channel, m);
}
