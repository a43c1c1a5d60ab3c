import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { loadInventoryHosts } from '../db/host-filter.js';
import { Params } from '../db/lookups.js';
import { parseVars } from './vars.js';

/**
 * A job's private data dir, <dataDir>/jobs/<id>, in ansible-runner's layout:
 *   inventory/hosts.json   the job's inventory from the DB (hosts, groups, children, vars)
 *   env/extravars          extra vars as YAML (never on the command line, so never in job_args),
 *                          `!unsafe` on every string Ansible must not template (extraVarsYaml)
 *   env/passwords          prompt → answer, for SSH/become/vault passwords
 *   env/envvars            environment for ansible (cloud credentials, custom injectors)
 *   env/cmdline            limit, tags, forks, verbosity, check/diff, credential flags
 *   env/settings           runner settings (no stdout artifact file)
 *   project -> the project's checkout (<dataDir>/projects/<local_path>)
 *   home/                  HOME of the job's processes (made by JobSandbox.open)
 * In the job sandbox this directory is the only part of the data dir a job can write, and
 * with its checkout the only part it can see (sandbox/job-sandbox.ts). The whole directory is removed when the job ends, taking key files and passwords with it.
 */
export function jobDir(dataDir: string, jobId: number): string {
  return path.join(dataDir, 'jobs', String(jobId));
}

export function projectDir(dataDir: string, project: { id: number; local_path: string; name: string }): string {
  const local = project.local_path || `_${project.id}__${project.name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
  return path.join(dataDir, 'projects', local);
}

/**
 * Where a project's role and collection requirements are installed for one revision (AWX's
 * projects/.__awx_cache/<project>/<revision>): `requirements_roles`, `requirements_collections`.
 */
export function requirementsDir(dataDir: string, project: { id: number; local_path: string; name: string }, revision: string): string {
  return path.join(dataDir, 'projects', '.__awx_cache', path.basename(projectDir(dataDir, project)), revision);
}

export function createPrivateDataDir(dataDir: string, jobId: number): string {
  const dir = jobDir(dataDir, jobId);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'env'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'inventory'), { recursive: true, mode: 0o700 });
  return dir;
}

export function writeEnvFiles(dir: string, files: { extraVars: Record<string, unknown>; passwords: Record<string, string>;
  envvars: Record<string, string>; cmdline: string[]; trustedExtraVars?: ReadonlySet<string> }): void {
  const write = (name: string, content: string) => fs.writeFileSync(path.join(dir, 'env', name), content, { mode: 0o600 });
  write('extravars', extraVarsYaml(files.extraVars, files.trustedExtraVars ?? new Set()));
  write('passwords', JSON.stringify(files.passwords));
  write('envvars', JSON.stringify(files.envvars));
  // The runner's own copy of stdout (artifacts/<ident>/stdout) would be streamed back in the
  // worker's artifacts zip: every event already carries its output.
  write('settings', JSON.stringify({ suppress_output_file: true }));
  if (files.cmdline.length) write('cmdline', files.cmdline.map(shellQuote).join(' '));
}

/**
 * Extra vars as YAML for `ansible-playbook -e @env/extravars`, as AWX's safe_dump writes
 * them: a top-level variable named in `trusted` is written plain (its Jinja is evaluated);
 * every other string, at any depth, and every key below the top, carries `!unsafe`, so
 * Ansible uses it as text and never templates it. Numbers, booleans and null need no tag.
 * Values are written in YAML's flow style; strings double-quoted with everything outside
 * printable ASCII escaped (PyYAML rejects raw DEL and C1 controls and folds U+2028 like a
 * line break); floats always carry a '.', since PyYAML (YAML 1.1) reads `1e-7` as a string.
 */
export function extraVarsYaml(vars: Record<string, unknown>, trusted: ReadonlySet<string>): string {
  const lines = Object.entries(vars).map(([k, v]) => `${yamlQuote(k)}: ${flowYaml(v, !trusted.has(k))}`);
  return lines.length ? `${lines.join('\n')}\n` : '{}\n';
}

function flowYaml(v: unknown, unsafe: boolean): string {
  const str = (s: string) => (unsafe ? `!unsafe ${yamlQuote(s)}` : yamlQuote(s));
  if (typeof v === 'string') return str(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return 'null';
    const n = JSON.stringify(v);
    return Number.isInteger(v) && !/e/i.test(n) ? n : n.includes('.') ? n : n.replace(/^(-?\d+)/, '$1.0');
  }
  if (typeof v === 'boolean' || v === null || v === undefined) return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map((x) => flowYaml(x, unsafe)).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${str(k)}: ${flowYaml(x, unsafe)}`).join(', ')}}`;
  return 'null';
}

function yamlQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
}

function vars(text: string, what: string): Record<string, unknown> {
  try {
    return parseVars(text, what);
  } catch {
    return {};
  }
}

/**
 * Ansible's YAML/JSON inventory for one DB inventory. A smart inventory's hosts are those its
 * host filter selects when the job starts (db/host-filter.ts), ungrouped, as AWX writes them.
 */
export async function buildInventory(db: Pick<pg.Pool, 'query'>, inventoryId: number,
  slice?: { number: number; count: number }, opts: { towervars?: boolean } = {}): Promise<Record<string, unknown>> {
  const params = new Params();
  const inv = await loadInventoryHosts(db, inventoryId, params);
  const which = inv?.hosts ?? 'false';
  const [{ rows: hosts }, { rows: groups }, { rows: members }, { rows: children }] = await Promise.all([
    db.query<{ id: number; name: string; variables: string }>(
      `SELECT t.id, t.name, t.variables FROM hosts t WHERE ${which} AND t.enabled ORDER BY t.name`, params.values),
    db.query<{ id: number; name: string; variables: string }>('SELECT id, name, variables FROM groups WHERE inventory_id = $1 ORDER BY name', [inventoryId]),
    db.query<{ group_id: number; host_id: number }>(
      'SELECT gh.group_id, gh.host_id FROM group_hosts gh JOIN groups g ON g.id = gh.group_id WHERE g.inventory_id = $1', [inventoryId]),
    db.query<{ parent_id: number; child_id: number }>(
      'SELECT gc.parent_id, gc.child_id FROM group_children gc JOIN groups g ON g.id = gc.parent_id WHERE g.inventory_id = $1', [inventoryId]),
  ]);
  // A job slice runs on every `count`th host by name from its own (AWX's get_sliced_hosts).
  if (slice && slice.count > 1) hosts.splice(0, hosts.length, ...hosts.filter((_, i) => i % slice.count === slice.number - 1));
  const hostName = new Map(hosts.map((h) => [h.id, h.name]));
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  const out: Record<string, any> = {};
  for (const g of groups) out[g.name] = { hosts: {}, vars: vars(g.variables, `group ${g.name} variables`), children: {} };
  for (const m of members) {
    const h = hostName.get(m.host_id);
    if (h) out[groupName.get(m.group_id)!].hosts[h] = null;
  }
  for (const c of children) out[groupName.get(c.parent_id)!].children[groupName.get(c.child_id)!] = null;
  const all: Record<string, any> = {
    // With towervars (AWX's script_params for constructed inventories' inputs) each host says
    // which stored host it is, so the constructed inventory's hosts lead back to it.
    hosts: Object.fromEntries(hosts.map((h) => [h.name, opts.towervars
      ? { ...vars(h.variables, `host ${h.name} variables`), remote_tower_enabled: 'true', remote_tower_id: Number(h.id) }
      : vars(h.variables, `host ${h.name} variables`)])),
    vars: vars(inv?.variables ?? '', 'inventory variables'),
    children: out,
  };
  return { all };
}

export function writeInventory(dir: string, inventory: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, 'inventory', 'hosts.json'), JSON.stringify(inventory), { mode: 0o600 });
}
