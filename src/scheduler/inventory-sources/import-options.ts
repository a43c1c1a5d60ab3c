/**
 * How AWX's inventory import treats what ansible-inventory listed, before it touches the
 * database (its inventory_import command and MemInventory):
 * - `host_filter`: a regular expression matched at the start of each host name (Python's
 *   re.match); a host that does not match is not imported, nor its group memberships;
 * - exclude empty groups (cloud sources): one pass dropping groups with no hosts, no children
 *   and no variables, and their links from parents;
 * - `enabled_var` (dotted for nested dicts, "foo.bar"): a host whose variables carry it is
 *   enabled when its value equals `enabled_value` (case-insensitively, as strings) or, without
 *   an `enabled_value`, when the value is truthy; a host without it keeps its state;
 * - an instance id from the first of the comma-separated `instance_id_var` names a host has.
 */
export interface ImportData {
  hosts: Map<string, Record<string, unknown>>;
  groups: Map<string, { vars: Record<string, unknown>; hosts: string[]; children: string[] }>;
}

function dig(from: unknown, dotted: string): unknown {
  let v: unknown = from;
  for (const key of dotted.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Python's str() of a value, lower-cased, for the comparison AWX makes. */
function pyLower(v: unknown): string {
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (v === null) return 'none';
  return (typeof v === 'object' ? JSON.stringify(v) : String(v)).toLowerCase();
}

function pyTruthy(v: unknown): boolean {
  if (v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

export function hostEnabled(vars: Record<string, unknown>, enabledVar: string, enabledValue: string): boolean | null {
  if (!enabledVar) return null;
  const v = dig(vars, enabledVar);
  if (v === undefined) return null;
  return enabledValue !== '' ? pyLower(enabledValue) === pyLower(v) : pyTruthy(v);
}

export function hostInstanceId(vars: Record<string, unknown>, instanceIdVar: string): string {
  for (const name of instanceIdVar.split(',')) {
    const v = dig(vars, name.trim());
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return '';
}

export function filterImport(data: ImportData, opts: { hostFilter: RegExp | null; excludeEmptyGroups: boolean }): ImportData {
  const hosts = new Map([...data.hosts].filter(([name]) => !opts.hostFilter || opts.hostFilter.test(name)));
  const groups: ImportData['groups'] = new Map();
  for (const [name, g] of data.groups) groups.set(name, { vars: g.vars, hosts: g.hosts.filter((h) => hosts.has(h)), children: [...g.children] });
  if (opts.excludeEmptyGroups) {
    for (const [name, g] of [...groups]) {
      if (g.children.length || g.hosts.length || Object.keys(g.vars).length) continue;
      groups.delete(name);
      for (const parent of groups.values()) parent.children = parent.children.filter((c) => c !== name);
    }
  }
  return { hosts, groups };
}

/**
 * host_filter as AWX compiles it: Python regular expressions are close enough to JavaScript's
 * for the patterns people write on host names; one that does not compile is refused with 400.
 * Anchored at the start (re.match), open at the end. Bounded in length: it runs once per
 * imported host name.
 */
export const HOST_FILTER_MAX = 512;

export function compileHostFilter(pattern: string): RegExp | null {
  if (!pattern) return null;
  if (pattern.length > HOST_FILTER_MAX) throw new SyntaxError(`longer than ${HOST_FILTER_MAX} characters`);
  return new RegExp(`^(?:${pattern})`);
}
