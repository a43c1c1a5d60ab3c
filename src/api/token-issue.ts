import crypto from 'node:crypto';
import { sha256 } from './auth.js';
import type { Queryable } from './engine/resource.js';
import { HttpError } from './http.js';
import { recordActivity } from '../db/activity.js';
import { readSetting, settingOnSql } from '../db/settings.js';

/**
 * The one place an access token is made, whatever asked for it (POST /tokens/ and its
 * sub-lists, /api/o/token/'s password, authorization-code and refresh grants). A token of
 * an application comes with a refresh token, as AWX's OAuth2TokenSerializer and
 * django-oauth-toolkit make them. Values are 30 random bytes (240 bits); only their SHA-256
 * is stored (migration 0300, 0910).
 */
export interface IssuedToken {
  id: number;
  token: string;
  refreshToken: string | null;
  expires: Date;
  scope: string;
}

/**
 * The lifetimes of AWX's OAUTH2_PROVIDER setting (seconds): access tokens, authorization
 * codes, and refresh tokens (one older than that is refused). Read at each issue, so a
 * change through /api/v2/settings/authentication/ applies to the next token.
 */
export interface OAuth2Lifetimes {
  ACCESS_TOKEN_EXPIRE_SECONDS: number;
  AUTHORIZATION_CODE_EXPIRE_SECONDS: number;
  REFRESH_TOKEN_EXPIRE_SECONDS: number;
}

export const OAUTH2_DEFAULTS: OAuth2Lifetimes = {
  ACCESS_TOKEN_EXPIRE_SECONDS: 31_536_000_000, AUTHORIZATION_CODE_EXPIRE_SECONDS: 600, REFRESH_TOKEN_EXPIRE_SECONDS: 2_628_000,
};

/** The setting's problem, or undefined when every lifetime it gives is a whole number of seconds ≥ 1. */
export function oauth2SettingProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'Expected a dictionary.';
  for (const [k, n] of Object.entries(v)) {
    if (!(k in OAUTH2_DEFAULTS)) return `${k}: not a lifetime Playstream knows (${Object.keys(OAUTH2_DEFAULTS).join(', ')}).`;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) return `${k}: a whole number of seconds, at least 1.`;
  }
  return undefined;
}

export async function oauth2Lifetimes(db: Queryable): Promise<OAuth2Lifetimes> {
  const stored = await readSetting<Partial<OAuth2Lifetimes>>(db, 'OAUTH2_PROVIDER', {}, (v) => oauth2SettingProblem(v) === undefined);
  return { ...OAUTH2_DEFAULTS, ...stored };
}

export function newSecret(): string {
  return crypto.randomBytes(30).toString('base64url');
}

export async function issueToken(db: Queryable, nodeName: string, opts: {
  userId: number; actorId: number; applicationId: number | null; scope: string; description?: string;
}): Promise<IssuedToken> {
  // AWX's OAuth2AccessToken.validate_external_users: an LDAP user gets no token unless ALLOW_OAUTH2_FOR_EXTERNAL_USERS.
  const { rows: [external] } = await db.query<{ allowed: boolean }>(
    `SELECT ${settingOnSql('ALLOW_OAUTH2_FOR_EXTERNAL_USERS', false)} AS allowed
       FROM users WHERE id = $1 AND ldap_dn <> ''`, [opts.userId]);
  if (external && !external.allowed) {
    throw new HttpError(403, { detail: 'OAuth2 Tokens cannot be created by users associated with an external authentication provider (LDAP)' });
  }
  const token = newSecret();
  const ttl = (await oauth2Lifetimes(db)).ACCESS_TOKEN_EXPIRE_SECONDS;
  const { rows } = await db.query<{ id: string; expires: Date }>(
    `INSERT INTO api_tokens (user_id, token_hash, description, scope, expires, application_id)
     VALUES ($1, $2, $3, $4, now() + $5 * interval '1 second', $6) RETURNING id, expires`,
    [opts.userId, sha256(token), opts.description ?? '', opts.scope, ttl, opts.applicationId]);
  const id = Number(rows[0].id);
  let refreshToken: string | null = null;
  if (opts.applicationId != null) {
    refreshToken = newSecret();
    await db.query('INSERT INTO oauth2_refresh_tokens (token_hash, access_token_id, application_id, user_id) VALUES ($1, $2, $3, $4)',
      [sha256(refreshToken), id, opts.applicationId, opts.userId]);
  }
  await recordActivity(db, nodeName, { actorId: opts.actorId, operation: 'create', object1: 'o_auth2_access_token', object1Id: id,
    changes: { scope: opts.scope, application: opts.applicationId, user: opts.userId } });
  return { id, token, refreshToken, expires: rows[0].expires, scope: opts.scope };
}
