/**
 * The text of the top-level `event_data` value inside an event's JSON, sliced from the
 * text JSON.parse already validated, instead of JSON.stringify-ing the parsed object back
 * (a second walk of the event's largest part, every event). Returns null when the slice
 * cannot be trusted to equal the parsed value (the key is spelled with escapes); the
 * caller then stringifies. The last occurrence wins, as in JSON.parse.
 *
 * Only called on text JSON.parse accepted as an object, so it may assume valid JSON.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Index just past the string whose opening quote is at `i`. */
function skipString(s: string, i: number): number {
  for (i++; ; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i++;
  }
}

/** Index just past the value starting at `i` (no leading whitespace). */
function skipValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === QUOTE) return skipString(s, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (; ; i++) {
      const d = s.charCodeAt(i);
      if (d === QUOTE) { i = skipString(s, i) - 1; continue; }
      if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) { if (--depth === 0) return i + 1; }
    }
  }
  // number, true, false, null: up to the next structural character or whitespace.
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i);
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d <= 0x20) return i;
  }
  return i;
}

function skipSpace(s: string, i: number): number {
  while (s.charCodeAt(i) <= 0x20) i++;
  return i;
}

export function eventDataText(json: string): string | null {
  let i = skipSpace(json, 0) + 1;
  let found: string | null = null;
  for (;;) {
    i = skipSpace(json, i);
    if (json.charCodeAt(i) === CLOSE_BRACE) return found;
    const keyStart = i;
    i = skipString(json, i);
    const key = json.slice(keyStart + 1, i - 1);
    i = skipSpace(json, i);
    if (json.charCodeAt(i) !== COLON) return null;
    i = skipSpace(json, i + 1);
    const valueStart = i;
    i = skipValue(json, i);
    if (key === 'event_data') found = json.slice(valueStart, i);
    else if (key.includes('\\')) return null;
    i = skipSpace(json, i);
    if (json.charCodeAt(i) === COMMA) i++;
  }
}
