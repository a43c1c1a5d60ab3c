import { requireLinks } from '../access.js';
import { badRequest } from '../http.js';
import { defineResource, type Row } from '../engine/resource.js';
import { bool, fk, named, ro, text } from './common.js';

/**
 * OAuth 2 applications (AWX's OAuth2Application). The client secret of a confidential
 * application is made by the server, shown once in the POST answer and stored as its
 * SHA-256 (migration 0910); afterwards it reads "************", and a public application
 * has none. As AWX's OAuth2ApplicationAccess: members of the application's organization
 * read it, its admins create, change and delete it.
 */
export const CENSOR = '************';

export const applications = defineResource({
  key: 'applications', type: 'o_auth2_application', table: 'oauth2_applications',
  fields: {
    ...named,
    organization: fk('organizations', { required: true }),
    client_id: ro('text'),
    client_type: text({ required: true, choices: ['confidential', 'public'], maxLength: 32 }),
    redirect_uris: text({ default: '' }),
    authorization_grant_type: text({ required: true, choices: ['password', 'authorization-code'], maxLength: 32 }),
    skip_authorization: bool({ default: false }),
  },
  search: ['name', 'description'],
  namedUrl: ['name', 'organization.name'],
  defaultOrder: 'name',
  uncached: true,
  access: {
    roleType: 'organization', idExpr: 't.organization_id', orgExpr: null,
    readSql: (g, p) => `t.organization_id = ANY(${p.push(g.ids('organization', 'member'))}::bigint[])`,
    canCreate: (_ctx, g, d) => g.ids('organization', 'admin').includes(Number(d.organization)),
  },
  related: (r) => ({ tokens: `/api/v2/applications/${r.id}/tokens/`, activity_stream: `/api/v2/applications/${r.id}/activity_stream/` }),
  present: (row, out) => {
    if (row.client_type === 'confidential') out.client_secret = CENSOR;
  },
  extraSummary: async (ctx, rows) => {
    const { rows: tokens } = await ctx.pool.query<{ application_id: string; n: number; results: unknown[] }>(
      `SELECT application_id, count(*)::int AS n,
              (array_agg(json_build_object('id', id, 'token', $2::text, 'scope', scope) ORDER BY id))[1:10] AS results
         FROM api_tokens WHERE application_id = ANY($1::bigint[]) GROUP BY application_id`, [rows.map((r) => r.id), CENSOR]);
    const byApp = new Map(tokens.map((t) => [Number(t.application_id), t]));
    for (const r of rows) {
      const t = byApp.get(r.id as number);
      (r.summary_fields as Row).tokens = { count: t?.n ?? 0, results: t?.results ?? [] };
    }
  },
  prepare: async (ctx, _db, data, existing, caller) => {
    // read_only_on_update_fields: the grant type is fixed once made.
    if (existing && data.authorization_grant_type !== undefined && data.authorization_grant_type !== existing.authorization_grant_type) {
      throw badRequest({ authorization_grant_type: ['This field cannot be changed once the application exists.'] });
    }
    if (existing && data.client_type !== undefined && data.client_type !== existing.client_type) {
      // A secret exists only for a confidential client and is made at creation: a change of type would leave one without it.
      throw badRequest({ client_type: ['This field cannot be changed once the application exists.'] });
    }
    const grant = data.authorization_grant_type ?? existing?.authorization_grant_type;
    const uris = String(data.redirect_uris ?? existing?.redirect_uris ?? '').split(/\s+/).filter(Boolean);
    for (const uri of uris) {
      let parsed: URL | undefined;
      try { parsed = new URL(uri); } catch { /* refused below */ }
      if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.hash) throw badRequest({ redirect_uris: [`Enter a valid URL: ${uri}`] });
    }
    // django-oauth-toolkit's Application.clean: the authorization-code grant redirects somewhere.
    if (grant === 'authorization-code' && !uris.length) {
      throw badRequest({ redirect_uris: ['Redirect_uris could not be empty with authorization-code grant type.'] });
    }
    if (data.redirect_uris !== undefined) data.redirect_uris = uris.join(' ');
    await requireLinks(ctx.pool, caller.grants, 'oauth2_application', data, existing);
    return data;
  },
  insert: async (_ctx, db, data) => {
    const { rows } = await db.query(
      `INSERT INTO oauth2_applications (name, description, organization_id, client_id, client_secret_hash, client_type,
         redirect_uris, authorization_grant_type, skip_authorization)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [data.name, data.description ?? '', data.organization, data.client_id, data.client_secret_hash ?? null, data.client_type,
        data.redirect_uris ?? '', data.authorization_grant_type, data.skip_authorization ?? false]);
    return rows[0].id;
  },
});
