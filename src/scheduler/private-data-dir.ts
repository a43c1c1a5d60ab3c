import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { parseVars } from './launch.js';

/**
 * A job's private data dir, <dataDir>/jobs/<id>, in ansible-runner's layout:
 *   inventory/hosts.json   the job's inventory from the DB (hosts, groups, children, vars)
 *   env/extravars          extra vars (never on the command line, so never in job_args)
 *   env/passwords          prompt → answer, for SSH/become/vault passwords
 *   env/envvars            environment for ansible (cloud credentials, custom injectors)
 *   env/cmdline            limit, tags, forks, verbosity, check/diff, credential flags
 *   env/settings           runner settings (no stdout artifact file)
 *   project -> the project's checkout (<dataDir>/projects/<local_path>)
 * The whole directory is removed when the job ends, taking key files and passwords with it.
 */
export function jobDir(dataDir: string, jobId: number): string {
  return path.join(dataDir, 'jobs', String(jobId));
}

export function projectDir(dataDir: string, project: { id: number; local_path: string; name: string }): string {
  const local = project.local_path || `_${project.id}__${project.name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
  return path.join(dataDir, 'projects', local);
}

export function createPrivateDataDir(dataDir: string, jobId: number): string {
  const dir = jobDir(dataDir, jobId);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'env'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'inventory'), { recursive: true, mode: 0o700 });
  return dir;
}

export function writeEnvFiles(dir: string, files: { extraVars: Record<string, unknown>; passwords: Record<string, string>;
  envvars: Record<string, string>; cmdline: string[] }): void {
  const write = (name: string, content: string) => fs.writeFileSync(path.join(dir, 'env', name), content, { mode: 0o600 });
  write('extravars', JSON.stringify(files.extraVars));
  write('passwords', JSON.stringify(files.passwords));
  write('envvars', JSON.stringify(files.envvars));
  // The runner's own copy of stdout (artifacts/<ident>/stdout) would be streamed back in the
  // worker's artifacts zip: every event already carries its output.
  write('settings', JSON.stringify({ suppress_output_file: true }));
  if (files.cmdline.length) write('cmdline', files.cmdline.map(shellQuote).join(' '));
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

/** Ansible's YAML/JSON inventory for one DB inventory. */
export async function buildInventory(db: Pick<pg.Pool, 'query'>, inventoryId: number): Promise<Record<string, unknown>> {
  const [{ rows: [inv] }, { rows: hosts }, { rows: groups }, { rows: members }, { rows: children }] = await Promise.all([
    db.query<{ variables: string }>('SELECT variables FROM inventories WHERE id = $1', [inventoryId]),
    db.query<{ id: number; name: string; variables: string }>(
      'SELECT id, name, variables FROM hosts WHERE inventory_id = $1 AND enabled ORDER BY name', [inventoryId]),
    db.query<{ id: number; name: string; variables: string }>('SELECT id, name, variables FROM groups WHERE inventory_id = $1 ORDER BY name', [inventoryId]),
    db.query<{ group_id: number; host_id: number }>(
      'SELECT gh.group_id, gh.host_id FROM group_hosts gh JOIN groups g ON g.id = gh.group_id WHERE g.inventory_id = $1', [inventoryId]),
    db.query<{ parent_id: number; child_id: number }>(
      'SELECT gc.parent_id, gc.child_id FROM group_children gc JOIN groups g ON g.id = gc.parent_id WHERE g.inventory_id = $1', [inventoryId]),
  ]);
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
    hosts: Object.fromEntries(hosts.map((h) => [h.name, vars(h.variables, `host ${h.name} variables`)])),
    vars: vars(inv?.variables ?? '', 'inventory variables'),
    children: out,
  };
  return { all };
}

export function writeInventory(dir: string, inventory: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, 'inventory', 'hosts.json'), JSON.stringify(inventory), { mode: 0o600 });
}
