import { describe, expect, it } from 'vitest';
import { eventDataText } from '../../src/pipeline/event-data-text.js';
import { fixtureEvents } from './support.js';

describe('event_data text slice', () => {
  it('slices exactly the top-level event_data value, whatever surrounds it', () => {
    const cases: [string, string | null][] = [
      ['{"a":1,"event_data":{"x":"}\\"{","y":[1,{"z":null}]},"b":"event_data"}', '{"x":"}\\"{","y":[1,{"z":null}]}'],
      [' { "event_data" : { } , "n" : -1.5e3 , "t" : true } ', '{ }'],
      ['{"s":"\\"event_data\\":{\\"no\\":1}","event_data":{"k":"\\\\"}}', '{"k":"\\\\"}'],
      ['{"event_data":{"a":1},"event_data":{"b":2}}', '{"b":2}'],
      ['{"x":[{"event_data":{"inner":1}}]}', null],
      ['{"event\\u005fdata":{"a":1}}', null],
    ];
    for (const [json, want] of cases) {
      JSON.parse(json);
      expect(eventDataText(json)).toBe(want);
    }
  });

  it('parses back to the same value as JSON.parse for every fixture event', () => {
    for (const e of fixtureEvents()) {
      for (const json of [JSON.stringify(e), JSON.stringify(e, null, 2)]) {
        const text = eventDataText(json);
        expect(text).not.toBeNull();
        expect(JSON.parse(text!)).toEqual(JSON.parse(json).event_data);
      }
    }
  });
});
