import { requireLinks } from '../access.js';
import { defineResource, type Row } from '../engine/resource.js';
import { badRequest } from '../http.js';
import { grantRole, int, text } from './common.js';
import { CONSTRUCTED_SOURCE_FIELDS, checkConstructedSourceFields, constructedRelated, ensureConstructedSource } from './constructed-source.js';
import { inventories } from './inventories.js';

/**
 * Constructed inventories (AWX 22+): an inventory of kind `constructed` whose hosts and groups
 * are built by the `ansible.builtin.constructed` plugin over its input inventories' hosts
 * (scheduler/constructed-inventory.ts). As in AWX, every constructed inventory has exactly one
 * inventory source, `source: constructed`, created with it ("Auto-created source for: <name>",
 * overwrite, overwrite_vars, update_on_launch), and `/api/v2/constructed_inventories/` shows
 * and writes four of that source's fields as the inventory's own: source_vars (the plugin's
 * options), limit, update_cache_timeout, verbosity. Nothing else of that source can change.
 */
const SOURCE = (col: string) => `(SELECT s."${col}" FROM inventory_sources s WHERE s.inventory_id = t.id AND s.source = 'constructed' ORDER BY s.id LIMIT 1)`;

const { host_filter: _hostFilter, kind: _kind, ...inventoryFields } = inventories.fields;

export const constructedInventories = defineResource({
  ...inventories,
  key: 'constructed_inventories',
  where: `t.kind = 'constructed'`,
  fields: {
    ...inventoryFields,
    kind: { type: 'text' },
    source_vars: text({ col: SOURCE('source_vars') }),
    update_cache_timeout: int({ col: SOURCE('update_cache_timeout') }),
    limit: text({ col: SOURCE('limit') }),
    verbosity: int({ col: SOURCE('verbosity') }),
  },
  related: (r) => ({ ...inventories.related!(r), ...constructedRelated(r) }),
  prepare: async (ctx, _db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'inventory', data, existing);
    checkConstructedSourceFields(data);
    if (data.variables !== undefined && typeof data.variables !== 'string') {
      if (data.variables && typeof data.variables === 'object') data.variables = JSON.stringify(data.variables);
      else throw badRequest({ variables: ['Must be JSON or YAML text.'] });
    }
    return data;
  },
  insert: async (_ctx, db, data) => {
    const { inv } = splitFields(data);
    const cols = Object.keys(inv);
    const { rows: [r] } = await db.query(
      `INSERT INTO inventories (${[...cols.map((c) => `"${c === 'organization' ? 'organization_id' : c}"`), 'kind'].join(', ')})
       VALUES (${[...cols.map((_, i) => `$${i + 1}`), `'constructed'`].join(', ')}) RETURNING id`, cols.map((c) => inv[c]));
    return r.id;
  },
  afterCreate: async (_ctx, db, id, data, caller) => {
    await ensureConstructedSource(db, id, splitFields(data).src);
    if (!caller.grants.superuser) await grantRole(db, 'inventory', id, 'admin_role', caller.user.id);
  },
  update: async (_ctx, db, id, data) => {
    const { inv, src } = splitFields(data);
    const cols = Object.keys(inv);
    if (cols.length) {
      await db.query(`UPDATE inventories SET ${cols.map((c, i) => `"${c === 'organization' ? 'organization_id' : c}" = $${i + 2}`).join(', ')},
                        modified = now() WHERE id = $1`, [id, ...cols.map((c) => inv[c])]);
    }
    await ensureConstructedSource(db, id, src);
  },
});

function splitFields(data: Row): { inv: Row; src: Row } {
  const inv: Row = {};
  const src: Row = {};
  for (const [k, v] of Object.entries(data)) {
    if ((CONSTRUCTED_SOURCE_FIELDS as readonly string[]).includes(k)) src[k] = v;
    else if (k !== 'kind') inv[k] = v;
  }
  return { inv, src };
}
