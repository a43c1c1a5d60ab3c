import { loadCredentialInputs } from '../../db/credentials.js';
import { PlaystreamError } from '../../errors.js';
import { runLookup } from '../../security/credential-plugins/index.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { loadRow, requireObjectPerm, resolveId } from '../engine/crud.js';
import { requirePerm } from '../engine/permissions.js';
import type { Row } from '../engine/resource.js';
import { badRequest, jsonBody, type Router } from '../http.js';
import { credentials, credentialTypes } from '../resources/credentials.js';

/**
 * AWX's tests of an external lookup before it is saved or used:
 * - `POST /credential_types/N/test/` {inputs, metadata}: a lookup with exactly these values
 *   (any signed-in user, as AWX: it reads nothing stored);
 * - `POST /credentials/N/test/` {inputs?, metadata}: the credential's stored inputs, with any
 *   input sent other than "$encrypted$" over them; needs `use` of the credential, and admin of
 *   it to change an input (AWX asks `use` alone, which lets a user send the stored token to a
 *   `url` of their choosing: changing inputs is for whoever may save them).
 * 202 `{}` when the lookup answers, else 400 `{"inputs": "<why>"}` ("HTTP 403", "<key> is not
 * present at <path>", "Vault unreachable: ECONNREFUSED"). The value looked up is never sent back.
 */
async function lookupAnswer(namespace: string | null, spec: Row, inputs: Row, metadata: unknown) {
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))) {
    throw badRequest({ metadata: ['Must be an object.'] });
  }
  try {
    await runLookup(namespace, spec, inputs, (metadata ?? {}) as Row);
    return { status: 202, body: {} };
  } catch (err) {
    if (err instanceof PlaystreamError && err.code === 'PS_ERR_CREDENTIAL_LOOKUP') return { status: 400, body: { inputs: err.message } };
    throw err;
  }
}

function objectOf(v: unknown, field: string): Row {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw badRequest({ [field]: ['Must be an object.'] });
  return v as Row;
}

export function registerCredentialTests(router: Router<ApiContext>): void {
  router.post('/api/v2/credential_types/:id/test/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const type = await loadRow(ctx, credentialTypes, caller, await resolveId(ctx, credentialTypes, req.params.id));
    if (type.kind !== 'external') throw badRequest({ detail: 'Only external credential types can be tested.' });
    const body = objectOf(jsonBody<Row>(req) ?? {}, 'body');
    return lookupAnswer(type.namespace as string | null, type.inputs as Row, objectOf(body.inputs, 'inputs'), body.metadata);
  });

  router.post('/api/v2/credentials/:id/test/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, credentials, req.params.id);
    const row = await requireObjectPerm(ctx, credentials, caller, id, 'use');
    const { rows: [type] } = await ctx.pool.query(
      'SELECT t.kind, t.namespace, t.inputs FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = $1', [id]);
    if (type.kind !== 'external') throw badRequest({ detail: 'Only external credentials can be tested.' });
    const body = objectOf(jsonBody<Row>(req) ?? {}, 'body');
    const inputs = await loadCredentialInputs(ctx.pool, ctx.secrets, id);
    const changed = Object.entries(objectOf(body.inputs, 'inputs')).filter(([k, v]) => v !== '$encrypted$' && JSON.stringify(v) !== JSON.stringify(inputs[k]));
    if (changed.length) requirePerm(credentials, caller.grants, row, 'admin');
    for (const [k, v] of changed) inputs[k] = v;
    return lookupAnswer(type.namespace, type.inputs, inputs, body.metadata);
  });
}
