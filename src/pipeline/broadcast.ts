import type { Redis } from 'ioredis';

/**
 * The broadcast bus contract (DESIGN.md §1): one Redis pub/sub message per (batch, group),
 * published only after the rows it announces are committed. Every web node subscribes to
 * the one channel and fans each message out to the websocket clients in `group`. Two
 * encodings share the channel: the receiver's event frames (bus-frame.ts: bytes the web
 * node sends as they are) and, for everything else, this JSON object (first byte `{`).
 *
 * Groups use AWX's names: `job_events-42` (and the other event kinds), `jobs-status_changed`,
 * `jobs-summary`, `schedules-changed`, `control`, `metrics`. Each item of `messages` is one
 * websocket message exactly as an AWX client receives it (it carries its `group_name`).
 */
export interface BroadcastMessage {
  group: string;
  messages: Record<string, unknown>[];
}

export function publishBroadcast(redis: Redis, channel: string, message: BroadcastMessage): Promise<number> {
  return redis.publish(channel, JSON.stringify(message));
}

/** A job status change, as AWX's `jobs-status_changed` message. */
export function statusChangedMessage(job: { id: number; status: string; kind: string; unified_job_template_id?: number | null;
  finished?: Date | string | null }): BroadcastMessage {
  return {
    group: 'jobs-status_changed',
    messages: [{ unified_job_id: job.id, status: job.status, type: job.kind, group_name: 'jobs',
      unified_job_template_id: job.unified_job_template_id ?? null, finished: job.finished ?? null }],
  };
}
