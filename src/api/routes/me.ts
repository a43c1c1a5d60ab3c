import { requireUser } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { Router } from '../http.js';

/** GET /api/v2/me/ — the caller, as a one-item AWX page. */
export function registerMe(router: Router<ApiContext>): void {
  router.get('/api/v2/me/', async (req, ctx) => {
    const user = await requireUser(req, ctx);
    const { rows } = await ctx.pool.query(
      `SELECT id, username, first_name, last_name, email, is_superuser, is_system_auditor, last_login, created, modified, ldap_dn
         FROM users WHERE id = $1`, [user.id]);
    const u = rows[0];
    const result = {
      id: u.id, type: 'user', url: `/api/v2/users/${u.id}/`,
      related: { teams: `/api/v2/users/${u.id}/teams/`, organizations: `/api/v2/users/${u.id}/organizations/`,
        roles: `/api/v2/users/${u.id}/roles/`, personal_tokens: `/api/v2/users/${u.id}/personal_tokens/` },
      summary_fields: { user_capabilities: { edit: true, delete: false } },
      created: u.created, modified: u.modified, username: u.username, first_name: u.first_name,
      last_name: u.last_name, email: u.email, is_superuser: u.is_superuser, is_system_auditor: u.is_system_auditor,
      password: '$encrypted$', ldap_dn: u.ldap_dn, last_login: u.last_login, external_account: u.ldap_dn ? 'ldap' : null, auth: [],
    };
    return { status: 200, body: { count: 1, next: null, previous: null, results: [result] } };
  });
}
