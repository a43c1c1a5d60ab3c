import type { ApiContext } from '../context.js';
import { requireCaller } from '../auth.js';
import { loadRow, resolveId, updateObject } from '../engine/crud.js';
import { badRequest, jsonBody, type ApiRequest, type Router } from '../http.js';
import { groups, hosts, inventories } from '../resources/inventories.js';
import { parseVars } from '../../scheduler/vars.js';

/**
 * `/inventories|hosts|groups/N/variable_data/` as AWX answers it: GET the object's variables
 * as an object (its YAML or JSON text parsed); PUT or PATCH a mapping that replaces them,
 * through the object's own update (admin needed, checked and recorded as any change).
 */
export function registerVariableData(router: Router<ApiContext>): void {
  for (const def of [inventories, hosts, groups]) {
    const path = `/api/v2/${def.key}/:id/variable_data/`;
    router.get(path, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      const row = await loadRow(ctx, def, caller, await resolveId(ctx, def, req.params.id));
      return { status: 200, body: parseVars(row.variables ?? '', 'variables') };
    });
    const replace = async (req: ApiRequest, ctx: ApiContext) => {
      const caller = await requireCaller(req, ctx);
      const id = await resolveId(ctx, def, req.params.id);
      const body = jsonBody<unknown>(req);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ variables: ['Expected a mapping of variables.'] });
      const updated = await updateObject(ctx, def, caller, id, { variables: Object.keys(body).length ? JSON.stringify(body) : '' });
      return { status: 200, body: parseVars(updated.variables ?? '', 'variables') };
    };
    router.put(path, replace);
    router.patch(path, replace);
  }
}
