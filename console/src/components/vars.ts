import YAML from 'yaml';

/**
 * Variables text (extra_vars, inventory/host/group variables) checked as the API checks it
 * (src/scheduler/vars.ts, AWX's vars_validate_or_raise): empty, or JSON or YAML that parses
 * to a mapping. The same YAML library on both sides, so the form refuses exactly what the
 * server would, before a request is made. Returns the problem, or undefined when it is fine.
 */
export function varsProblem(text: string): string | undefined {
  if (!text.trim()) return undefined;
  let parsed: unknown;
  try {
    parsed = YAML.parse(text);
  } catch (err) {
    const first = String((err as Error).message ?? '').split('\n')[0];
    return `Not valid JSON or YAML: ${first}`;
  }
  if (parsed === null || parsed === undefined) return undefined;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) return 'Must be a mapping (key: value pairs), not a list or a single value.';
  return undefined;
}
