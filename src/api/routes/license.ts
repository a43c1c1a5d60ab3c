import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { recordActivity } from '../../db/activity.js';
import { forbidden, jsonBody, type ApiRequest, type Router } from '../http.js';

/**
 * The license side of /api/v2/config/ as the open-source AWX answers it (awx/api/views/root.py
 * with awx/main/utils/licensing.py's OpenLicense): there is no subscription to hold, so
 * - GET /config/ shows OPEN_LICENSE as `license_info` (routes/config.ts);
 * - POST /config/ without a manifest answers the open license and, as AWX does, takes the
 *   request's own address as TOWER_URL_BASE; a `license_key` is the legacy refusal; a
 *   `manifest` is refused with the message AWX's manifest check gives for what is not a
 *   signed subscription manifest (Playstream verifies none, so none installs);
 * - DELETE /config/ removes nothing there is and answers 204;
 * - POST /config/subscriptions/ answers 400 "Invalid Subscription" (AWX's OpenLicense has no
 *   subscription service to ask), without storing the credentials;
 * - POST /config/attach/ answers 400: no pool can be attached.
 * Every write is for superusers, as AWX's check_permissions says.
 */
export const OPEN_LICENSE = { license_type: 'open', valid_key: true, subscription_name: 'OPEN', product_name: 'AWX' } as const;

async function requireSuperuser(req: ApiRequest, ctx: ApiContext) {
  const caller = await requireCaller(req, ctx);
  if (!caller.grants.superuser) throw forbidden();
  return caller;
}

const error = (message: string) => ({ status: 400, body: { error: message } });

function isZip(base64: string): boolean {
  const bytes = Buffer.from(base64, 'base64');
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;
}

export function registerLicense(router: Router<ApiContext>): void {
  router.post('/api/v2/config/', async (req, ctx) => {
    const caller = await requireSuperuser(req, ctx);
    const body = jsonBody<unknown>(req);
    if (!body || typeof body !== 'object' || Array.isArray(body)) return error('Invalid subscription data');
    const data = body as Record<string, unknown>;
    if ('license_key' in data) return error('Legacy license submitted. A subscription manifest is now required.');
    if ('manifest' in data) {
      if (typeof data.manifest !== 'string' || !isZip(data.manifest)) return error('Invalid manifest: a subscription manifest zip file is required.');
      return error('Invalid manifest: signature verification failed.');
    }
    const host = req.headers.host;
    if (host && /^[\w.:[\]-]+$/.test(host)) {
      const base = `${req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${host}`;
      await ctx.pool.query(`INSERT INTO api_settings (key, value) VALUES ('TOWER_URL_BASE', $1) ON CONFLICT (key) DO UPDATE SET value = $1, modified = now()`,
        [JSON.stringify(base)]);
      await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'update', object1: 'setting', object1Id: null,
        changes: { TOWER_URL_BASE: base } });
    }
    return { status: 200, body: { ...OPEN_LICENSE } };
  });
  router.delete('/api/v2/config/', async (req, ctx) => {
    await requireSuperuser(req, ctx);
    return { status: 204 };
  });
  router.post('/api/v2/config/subscriptions/', async (req, ctx) => {
    await requireSuperuser(req, ctx);
    jsonBody(req);
    return error('Invalid Subscription');
  });
  router.post('/api/v2/config/attach/', async (req, ctx) => {
    await requireSuperuser(req, ctx);
    const body = jsonBody<Record<string, unknown>>(req);
    if (!body || typeof body !== 'object' || !body.pool_id) return error('No subscription pool ID provided.');
    return error('Error processing subscription metadata.');
  });
}
