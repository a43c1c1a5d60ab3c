/**
 * The JSON text of one top-level member's object value, cut out of the text it was parsed
 * from: the receiver stores and sends `event_data` as the runner wrote it, instead of
 * JSON.stringify-ing the object it just parsed (one whole re-encode of most of every event).
 *
 * `text` must be JSON that JSON.parse accepted (so strings are well formed and no raw
 * control character is inside one). Strings are skipped with indexOf. Returns undefined —
 * the caller then stringifies — when the member is absent or not an object, when a
 * top-level key is written with escapes (`"event\u005fdata"` is the same key to JSON.parse),
 * or when the value has a tab, newline or carriage return between tokens (COPY's text
 * format would need them escaped; JSON.stringify never writes them). A repeated key gives
 * its last value, as JSON.parse does.
 */
export function objectMemberText(text: string, key: string): string | undefined {
  const n = text.length;
  let depth = 0;
  let expectKey = false;
  let capture = false;
  let start = -1;
  let found: string | undefined;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) { // "
      const open = i;
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return undefined;
        let b = i - 1;
        while (text.charCodeAt(b) === 92) b--;
        if ((i - 1 - b) % 2 === 0) break;
      }
      if (depth === 1 && expectKey) {
        // Keys are short: look for an escape within this one only (indexOf would search the rest of the text).
        for (let k = open + 1; k < i; k++) if (text.charCodeAt(k) === 92) return undefined;
        capture = i - open - 1 === key.length && text.startsWith(key, open + 1);
        expectKey = false;
      }
    } else if (c === 123 || c === 91) { // { [
      depth++;
      if (depth === 1) expectKey = true;
      else if (depth === 2 && capture && c === 123) start = i;
    } else if (c === 125 || c === 93) { // } ]
      depth--;
      if (depth === 1 && start >= 0) {
        found = text.slice(start, i + 1);
        start = -1;
        capture = false;
      }
    } else if (depth === 1 && c === 44) { // ,
      expectKey = true;
      capture = false;
    } else if (start >= 0 && (c === 9 || c === 10 || c === 13)) {
      return undefined;
    }
  }
  return found;
}
