import { describe, expect, it } from 'vitest';
import { objectMemberText } from '../../src/pipeline/json-slice.js';
import { fixtureEvents } from './support.js';

const slice = (text: string) => objectMemberText(text, 'event_data');

describe('event_data cut out of the event text', () => {
  it('is exactly the parsed event_data for every fixture event, written compactly or as Python writes it', () => {
    for (const e of fixtureEvents()) {
      for (const text of [JSON.stringify(e), JSON.stringify(e).replaceAll('":', '": ').replaceAll(',"', ', "')]) {
        const got = slice(text);
        expect(got).toBeDefined();
        expect(JSON.parse(got!)).toEqual(e.event_data);
      }
    }
  });

  it('skips strings that look like keys, quotes and backslashes, nested event_data keys and arrays', () => {
    const e = { stdout: 'say "event_data": {"x": 1} \\" \\\\', list: [{ event_data: { no: 1 } }, '}'], event_data: { a: 'b"}', event_data: { c: [1, { d: '\\' }] } },
      after: { event_data: 'not this' } };
    expect(JSON.parse(slice(JSON.stringify(e))!)).toEqual(e.event_data);
  });

  it('takes the last of repeated keys, as JSON.parse does', () => {
    const text = '{"event_data": {"first": 1}, "counter": 2, "event_data": {"second": 2}}';
    expect(slice(text)).toBe('{"second": 2}');
    expect(JSON.parse(slice(text)!)).toEqual(JSON.parse(text).event_data);
  });

  it('gives up (the caller stringifies) on escaped keys, raw whitespace that COPY would need escaped, and non-objects', () => {
    expect(slice('{"event\\u005fdata": {"a": 1}}')).toBeUndefined();
    expect(slice('{"event_data": {"a": 1}, "x\\"y": 2}')).toBeUndefined();
    expect(slice('{"event_data": {\n  "a": 1\n}}')).toBeUndefined();
    expect(slice('{"event_data": {"a":\t1}}')).toBeUndefined();
    expect(slice('{"event_data": null}')).toBeUndefined();
    expect(slice('{"event_data": [1, 2]}')).toBeUndefined();
    expect(slice('{"counter": 1}')).toBeUndefined();
    // Whitespace inside strings is escaped in JSON, so a value's own text never holds it raw.
    expect(slice('{"event_data": {"a": "line\\nbreak"}}')).toBe('{"a": "line\\nbreak"}');
  });

  it('matches JSON.parse on random nested events', () => {
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const pieces = ['"', '\\', '{', '}', '[', ']', ',', ':', 'event_data', ' ', 'é', '\u2028', 'x'];
    const str = () => Array.from({ length: rand(8) }, () => pieces[rand(pieces.length)]).join('');
    const value = (depth: number): unknown => {
      const k = rand(depth > 3 ? 3 : 6);
      if (k === 0) return str();
      if (k === 1) return rand(1000);
      if (k === 2) return rand(2) === 0;
      if (k === 3) return Array.from({ length: rand(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rand(4) }, () => [rand(3) ? str() : 'event_data', value(depth + 1)]));
    };
    for (let n = 0; n < 2000; n++) {
      const e: Record<string, unknown> = { stdout: str(), x: value(1), event_data: Object.fromEntries([[str(), value(1)], ['event_data', value(1)]]) };
      if (rand(2)) e.after = value(1);
      const text = rand(2) ? JSON.stringify(e) : JSON.stringify(e).replaceAll('":', '": ');
      const got = slice(text);
      expect(got, text).toBeDefined();
      expect(JSON.parse(got!), text).toEqual(JSON.parse(text).event_data);
    }
  });
});
