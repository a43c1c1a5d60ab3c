/**
 * Input values as Django REST framework's fields parse them, so what AWX accepts Playstream
 * accepts: awx.awx's `settings` module sends `value: true` as the string "True", forms and
 * scripts send integers as strings. Each parser returns undefined for a value DRF refuses.
 */

/** BooleanField.TRUE_VALUES / FALSE_VALUES (DRF 3.14); 1 and 0 as numbers too (Python's 1 == True). */
const TRUE_VALUES = new Set<unknown>(['t', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON', '1', 1, true]);
const FALSE_VALUES = new Set<unknown>(['f', 'F', 'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF', '0', 0, false]);

export function parseDrfBoolean(v: unknown): boolean | undefined {
  if (TRUE_VALUES.has(v)) return true;
  if (FALSE_VALUES.has(v)) return false;
  return undefined;
}

/** IntegerField's MAX_STRING_LENGTH: a longer string is refused before it is parsed. */
const MAX_STRING_LENGTH = 1000;

/**
 * IntegerField: `int(re.sub(r'\.0*\s*$', '', str(value)))`, so 5, "5", " 5 ", "5.0" and 5.0
 * are 5, while "5.5", "x", "" and booleans (str(True) is "True") are refused. Beyond
 * Number.MAX_SAFE_INTEGER a value cannot be held exactly and is refused too.
 */
export function parseDrfInteger(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== 'string' || v.length > MAX_STRING_LENGTH) return undefined;
  const m = /^\s*([+-]?\d+)(?:\.0*)?\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** FloatField: a number, or a string Python's float() reads as a finite number. */
export function parseDrfFloat(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.length > MAX_STRING_LENGTH) return undefined;
  if (!/^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/.test(v)) return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}
