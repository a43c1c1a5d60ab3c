import { describe, expect, it } from 'vitest';
import { jobKinds } from '../../src/db/job-kinds.js';
import { eventMessageJson } from '../../src/pipeline/event-message-json.js';
import { serializeEvent } from '../../src/pipeline/event-serializer.js';
import { type ParsedEvent, parseEvent } from '../../src/pipeline/parse-event.js';
import { fixtureEvents } from './support.js';

describe('event message JSON', () => {
  it('parses back to exactly the websocket message serializeEvent builds, for every fixture event and job kind', () => {
    const stats = { invalidUtf8: 0, badCreated: 0 };
    const odd = { event: 'runner_on_ok', counter: 7, stdout: 'tab\t"quote" \\ \u2028 \u0001 ☃ \ud83d\ude00', uuid: 'u', event_data: { host: 'h1', res: { changed: true }, s: '\u0000' } };
    for (const kind of Object.values(jobKinds)) {
      for (const [i, raw] of [...fixtureEvents(), odd].entries()) {
        const e = parseEvent(Buffer.from(JSON.stringify({ ...raw, [kind.refField]: 42 })), stats) as ParsedEvent;
        expect(e.ok).toBe(true);
        const hostId = i % 2 ? 9 : null;
        const row = { id: 1000 + i, created: e.created || '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:01.000Z', job_id: 42,
          event: e.event, event_data: e.eventData, failed: e.failed, changed: e.changed, uuid: e.uuid, parent_uuid: e.parentUuid,
          counter: e.counter, stdout: e.stdout, verbosity: e.verbosity, start_line: e.startLine, end_line: e.endLine, host_id: hostId,
          host_name: e.hostName, playbook: e.playbook, play: e.play, role: e.role, task: e.task };
        const expected = { ...serializeEvent(row, kind), group_name: kind.eventGroup };
        const json = eventMessageJson({ id: row.id, created: row.created, modified: row.modified, jobId: 42, event: e.event, counter: e.counter,
          eventDataText: e.eventDataText, eventData: e.eventData, failed: e.failed, changed: e.changed, uuid: e.uuid, parentUuid: e.parentUuid,
          hostId, hostName: e.hostName, playbook: e.playbook, play: e.play, role: e.role, task: e.task, stdout: e.stdout,
          startLine: e.startLine, endLine: e.endLine, verbosity: e.verbosity }, kind);
        expect(JSON.parse(json)).toEqual(expected);
        expect(Object.keys(JSON.parse(json))).toEqual(Object.keys(expected));
      }
    }
  });
});
