import { badRequest } from '../http.js';
import { defineResource, type Row } from '../engine/resource.js';
import type { Grants } from '../access.js';
import { base, ro, text } from './common.js';
import { CENSOR } from './applications.js';

/**
 * OAuth 2 access tokens (AWX's OAuth2AccessToken): personal tokens, and tokens of an
 * application (src/api/routes/tokens.ts makes both, routes/oauth2.ts issues them through
 * /api/o/token/). The token value is shown once, in the POST answer; afterwards only its
 * SHA-256 is stored and the API shows "************".
 *
 * As AWX's OAuth2TokenAccess: a user reads, changes and deletes their own tokens; an
 * admin or auditor of an application's organization reads its tokens, and its admins
 * change and delete them.
 */
/**
 * AWX's BaseOAuth2TokenSerializer._is_valid_scope: space-separated `read`/`write`, each at
 * most once. Returns the scope with single spaces, or undefined when it is not one.
 */
export function normalizeScope(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const words = value.split(/\s+/).filter(Boolean);
  return words.every((w, i) => (w === 'read' || w === 'write') && words.indexOf(w) === i) ? words.join(' ') : undefined;
}

export const SCOPE_MESSAGE = "Must be a simple space-separated string with allowed scopes ['read', 'write'].";

const APP_ORG = '(SELECT a.organization_id FROM oauth2_applications a WHERE a.id = t.application_id)';

function mayChangeToken(g: Grants, row: Row): boolean {
  if (g.superuser || row.user === g.user.id) return true;
  return row._aorg != null && g.ids('organization', 'admin').includes(Number(row._aorg));
}

export const tokens = defineResource({
  key: 'tokens', type: 'o_auth2_access_token', table: 'api_tokens',
  fields: {
    ...base, description: text(), scope: text({ default: 'write' }), expires: ro('time'),
    user: ro('int', { fk: 'users' }), last_used: ro('time'),
    // Set when the token is made (routes/tokens.ts); never changed after (OAuth2TokenDetailSerializer).
    application: { type: 'int', fk: 'applications', writable: true, helpText: 'The application the token was issued through; none for a personal access token.' },
  },
  search: ['description'],
  // last_used changes once a minute per token in use: the read cache ignores this table's changes.
  uncached: true,
  access: {
    roleType: 'token', orgExpr: APP_ORG,
    readSql: (g, p) => `(t.user_id = ${p.push(g.user.id)} OR ${APP_ORG} = ANY(${p.push(
      [...new Set([...g.ids('organization', 'admin'), ...g.roles.filter((r) => r.type === 'organization' && r.field === 'auditor_role').map((r) => r.id)])]
    )}::bigint[]))`,
    rowAdmin: mayChangeToken,
    canCreate: () => true,
  },
  present: (row, out) => {
    out.token = CENSOR;
    out.refresh_token = row.application == null ? null : CENSOR;
  },
  prepare: (_ctx, _db, data, existing) => {
    if (existing && data.application !== undefined && (data.application ?? null) !== (existing.application ?? null)) {
      throw badRequest({ application: ['This field cannot be changed once the token exists.'] });
    }
    delete data.application;
    if (data.scope !== undefined) {
      const scope = normalizeScope(data.scope);
      if (!scope) throw badRequest({ scope: [SCOPE_MESSAGE] });
      data.scope = scope;
    }
    return data;
  },
});
