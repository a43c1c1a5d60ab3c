import { describe, expect, it } from 'vitest';
import { jobKinds } from '../../src/db/job-kinds.js';
import { eventMessageJson, eventObject } from '../../src/pipeline/event-json.js';
import { type ParsedEvent, parseEvent } from '../../src/pipeline/parse-event.js';
import { fixtureEvents } from './support.js';

describe('event message JSON', () => {
  it('parses back to exactly the REST object plus group_name, for every fixture event and job kind, with or without the parsed event_data', () => {
    const stats = { invalidUtf8: 0, badCreated: 0 };
    const odd = { event: 'runner_on_ok', counter: 7, stdout: 'tab\t"quote" \\ \u2028 \u0001 ☃ \ud83d\ude00', uuid: 'u', event_data: { host: 'h1', res: { changed: true }, s: '\u0000' } };
    const handler = { event: 'playbook_on_task_start', counter: 8, event_data: { task: 'restart', role: 'web', is_conditional: true } };
    for (const kind of Object.values(jobKinds)) {
      for (const [i, raw] of [...fixtureEvents(), odd, handler].entries()) {
        const e = parseEvent(Buffer.from(JSON.stringify({ ...raw, [kind.refField]: 42 })), stats) as ParsedEvent;
        expect(e.ok).toBe(true);
        Object.assign(e.row, { id: 1000 + i, created: e.row.created || '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:01.000Z',
          job_created: '2026-01-01T00:00:00.000Z', host_id: i % 2 ? 9 : null });
        const expected: Record<string, unknown> = { ...eventObject(e.row, kind, e.eventData), group_name: kind.eventGroup };
        for (const json of [eventMessageJson(e.row, kind, e.eventData), eventMessageJson(e.row, kind)]) {
          expect(JSON.parse(json)).toEqual(expected);
          expect(Object.keys(JSON.parse(json))).toEqual(Object.keys(expected));
        }
        expect(eventObject(e.row, kind)).toEqual(eventObject(e.row, kind, e.eventData));
        if (raw === handler) expect(expected.event_display).toBe('Handler Notified (web | restart)');
      }
    }
  });
});
