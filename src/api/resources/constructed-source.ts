import { requireLink } from '../access.js';
import type { Queryable, Row } from '../engine/resource.js';
import type { Association } from '../engine/routes.js';
import { badRequest } from '../http.js';
import { parseVars } from '../../scheduler/vars.js';

/**
 * A constructed inventory's own inventory source and input inventories (AWX 22+): what
 * /inventories/ and /constructed_inventories/ share (resources/constructed-inventories.ts).
 */
export const CONSTRUCTED_SOURCE_FIELDS = ['source_vars', 'update_cache_timeout', 'limit', 'verbosity'] as const;

export function constructedRelated(r: Row): Record<string, string> {
  if (r.kind !== 'constructed') return {};
  return {
    input_inventories: `/api/v2/inventories/${r.id}/input_inventories/`,
    constructed_url: `/api/v2/constructed_inventories/${r.id}/`,
  };
}

/**
 * The source fields a constructed inventory accepts, checked as the source will use them:
 * source_vars must be the constructed plugin's options (a mapping whose `plugin`, when given,
 * names the constructed plugin: the update writes `plugin: ansible.builtin.constructed`
 * itself), verbosity 0–2, update_cache_timeout ≥ 0.
 */
export function checkConstructedSourceFields(data: Row): void {
  if (data.source_vars !== undefined) constructedPluginOptions(String(data.source_vars ?? ''));
  if (data.verbosity !== undefined && (Number(data.verbosity) < 0 || Number(data.verbosity) > 2)) {
    throw badRequest({ verbosity: ['Ensure this value is between 0 and 2.'] });
  }
  if (data.update_cache_timeout !== undefined && Number(data.update_cache_timeout) < 0) {
    throw badRequest({ update_cache_timeout: ['Ensure this value is greater than or equal to 0.'] });
  }
}

export function constructedPluginOptions(sourceVars: string): Record<string, unknown> {
  let vars: Record<string, unknown>;
  try { vars = parseVars(sourceVars, 'source_vars'); } catch (err) { throw badRequest({ source_vars: [(err as Error).message] }); }
  const plugin = vars.plugin;
  if (plugin !== undefined && plugin !== 'constructed' && plugin !== 'ansible.builtin.constructed') {
    throw badRequest({ source_vars: [`plugin must be ansible.builtin.constructed for a constructed inventory, not ${JSON.stringify(plugin)}.`] });
  }
  return vars;
}

/** Creates the inventory's constructed source when it has none (AWX's _enforce_constructed_source), then writes `fields` to it. */
export async function ensureConstructedSource(db: Queryable, inventoryId: number, fields: Row = {}): Promise<void> {
  await db.query(
    `INSERT INTO inventory_sources (name, inventory_id, source, overwrite, overwrite_vars, update_on_launch)
     SELECT left('Auto-created source for: ' || i.name, 512), i.id, 'constructed', true, true, true FROM inventories i
      WHERE i.id = $1 AND NOT EXISTS (SELECT 1 FROM inventory_sources s WHERE s.inventory_id = i.id AND s.source = 'constructed')`,
    [inventoryId]);
  const cols = Object.keys(fields).filter((k) => fields[k] !== null && fields[k] !== undefined);
  if (!cols.length) return;
  await db.query(`UPDATE inventory_sources SET ${cols.map((c, i) => `"${c}" = $${i + 2}`).join(', ')}, modified = now()
                   WHERE inventory_id = $1 AND source = 'constructed'`, [inventoryId, ...cols.map((c) => fields[c])]);
}

/**
 * `/inventories/N/input_inventories/`: the ordered inputs of constructed inventory N. Linking
 * needs admin of N (the sub-list's rule) and `use` of the input — stricter than AWX's read,
 * because whoever may run jobs on N then runs them on the input's hosts. An input is never
 * itself constructed, and only a constructed inventory has inputs.
 */
export const inputInventories: Association = {
  table: 'inventory_input_inventories', parentCol: 'constructed_inventory_id', childCol: 'input_inventory_id',
  link: async (db, parentId, childId, caller) => {
    const { rows } = await db.query('SELECT id, kind FROM inventories WHERE id = ANY($1::bigint[])', [[parentId, childId]]);
    const kind = new Map(rows.map((r) => [Number(r.id), r.kind]));
    if (kind.get(parentId) !== 'constructed') throw badRequest({ error: 'Only constructed inventories have input inventories.' });
    if (kind.get(childId) === 'constructed') throw badRequest({ error: 'You cannot add a constructed inventory to another constructed inventory.' });
    if (parentId === childId) throw badRequest({ error: 'An inventory cannot be its own input.' });
    await requireLink(db, caller.grants, 'inventory', 'input_inventories', [childId]);
    await db.query(
      `INSERT INTO inventory_input_inventories (constructed_inventory_id, input_inventory_id, position)
       SELECT $1, $2, coalesce(max(position) + 1, 0) FROM inventory_input_inventories WHERE constructed_inventory_id = $1
       ON CONFLICT DO NOTHING`, [parentId, childId]);
  },
};
