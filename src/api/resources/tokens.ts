import { defineResource } from '../engine/resource.js';
import { base, ro, text } from './common.js';

/**
 * Personal access tokens (AWX's OAuth2 tokens without applications). The token value is
 * shown once, in the POST answer; afterwards only its SHA-256 is stored and the API shows
 * "************". Each user sees and revokes only their own (superusers: all).
 */
export const TOKEN_TTL_SECONDS = 31_536_000_000 / 1000;

export const tokens = defineResource({
  key: 'tokens', type: 'o_auth2_access_token', table: 'api_tokens',
  fields: {
    ...base, description: text(), scope: text({ choices: ['read', 'write'] }), expires: ro('time'),
    user: ro('int', { fk: 'users' }), application: ro('int', { col: 'NULL::bigint' }), last_used: ro('time'),
  },
  search: ['description'],
  // last_used changes once a minute per token in use: the read cache ignores this table's changes.
  uncached: true,
  access: { roleType: 'token', orgExpr: null, readSql: (g, p) => `t.user_id = ${p.push(g.user.id)}`, canCreate: () => true },
  present: (_row, out) => {
    out.token = '************';
    out.refresh_token = null;
  },
});
