import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import YAML from 'yaml';
import { PlaystreamError } from '../errors.js';
import { startFactCache } from './fact-cache.js';
import { buildInventory } from './private-data-dir.js';
import { parseVars } from './vars.js';

/**
 * The sync of a constructed inventory (AWX 22+, source `constructed`), as AWX's
 * RunInventoryUpdate builds it:
 *   ansible-inventory --list --export -i inventory/hosts_<input 1>.json … -i inventory/constructed.yml
 * - each input inventory, in its position order, is written from the database with its hosts'
 *   variables and "towervars" (`remote_tower_enabled`, `remote_tower_id`: which stored host each
 *   one is), before the plugin's own file, so the plugin sees every input host;
 * - constructed.yml is the source's source_vars (the plugin's options: strict, compose, groups,
 *   keyed_groups…) with `plugin: ansible.builtin.constructed` set by Playstream, loaded through
 *   the `auto` inventory plugin; `yaml` reads the input files; nothing unparsed passes silently
 *   (ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED);
 * - the inputs' hosts' cached facts (fact-cache.ts) are written to a jsonfile fact cache the
 *   plugin reads (ANSIBLE_CACHE_PLUGIN), so `groups` and `compose` can use them, as AWX's
 *   start_fact_cache for the inputs does;
 * - the import (inventory-update.ts) then overwrites hosts, groups and variables, drops the
 *   towervars from each host's variables and keeps `remote_tower_id` as its instance_id, as
 *   AWX's inventory_import does for constructed inventories.
 * `limit` (a host pattern) is applied by Ansible itself: ansible-core 2.14, the version Debian
 * ships, has no `ansible-inventory --limit` (2.15+), so the hosts it selects are listed by
 * `ansible all --limit <limit> --list-hosts` over the same inventories and the import keeps
 * those alone (limitedList).
 */
export interface ConstructedPlan { inventoryArgs: string[]; env: Record<string, string>; inputs: number }

export async function prepareConstructedUpdate(db: Pick<pg.Pool, 'query'>, privateDir: string, inventoryId: number,
  sourceVars: string): Promise<ConstructedPlan> {
  const { rows: inputs } = await db.query<{ id: number }>(
    'SELECT input_inventory_id AS id FROM inventory_input_inventories WHERE constructed_inventory_id = $1 ORDER BY position, input_inventory_id',
    [inventoryId]);
  const dir = path.join(privateDir, 'inventory');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const inventoryArgs: string[] = [];
  const factDir = path.join(privateDir, 'fact_cache');
  for (const { id } of inputs) {
    const file = path.join(dir, `hosts_${id}.json`);
    fs.writeFileSync(file, JSON.stringify(await buildInventory(db, Number(id), undefined, { towervars: true })), { mode: 0o600 });
    inventoryArgs.push('-i', file);
    await startFactCache(db, Number(id), factDir);
  }
  const options = parseVars(sourceVars, 'source_vars');
  if (options.plugin !== undefined && options.plugin !== 'constructed' && options.plugin !== 'ansible.builtin.constructed') {
    throw new PlaystreamError('PS_ERR_VALIDATION', 'source_vars: plugin must be ansible.builtin.constructed');
  }
  const config = path.join(dir, 'constructed.yml');
  fs.writeFileSync(config, YAML.stringify({ ...options, plugin: 'ansible.builtin.constructed' }), { mode: 0o600 });
  inventoryArgs.push('-i', config);
  return {
    inventoryArgs,
    env: { ANSIBLE_INVENTORY_ENABLED: 'yaml,auto', ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: 'True',
      ANSIBLE_CACHE_PLUGIN: 'jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION: factDir },
    inputs: inputs.length,
  };
}

/** Host names `ansible all --limit … --list-hosts` printed (two-space "hosts (N):" header, then one name a line). */
export function parseListHosts(stdout: string): Set<string> {
  const names = new Set<string>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('    ')) continue;
    const name = line.trim();
    if (name) names.add(name);
  }
  return names;
}

/** `ansible-inventory --list` output reduced to `keep`: other hosts leave every group and `_meta`. */
export function limitedList(listed: Record<string, any>, keep: Set<string>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [name, g] of Object.entries(listed)) {
    if (name === '_meta') {
      out._meta = { ...g, hostvars: Object.fromEntries(Object.entries(g.hostvars ?? {}).filter(([h]) => keep.has(h))) };
      continue;
    }
    out[name] = g.hosts ? { ...g, hosts: (g.hosts as string[]).filter((h) => keep.has(h)) } : g;
  }
  return out;
}

/** A constructed host's variables without the towervars, and the stored host it came from (AWX's instance_id). */
export function stripTowervars(vars: Record<string, unknown>): { vars: Record<string, unknown>; instanceId: string } {
  const { remote_tower_enabled: _e, remote_tower_id: id, remote_host_enabled: _he, remote_host_id: hid, ...rest } = vars;
  const origin = id ?? hid;
  return { vars: rest, instanceId: origin === undefined || origin === null ? '' : String(origin) };
}
