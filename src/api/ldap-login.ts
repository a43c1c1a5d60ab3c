import { withTransaction } from '../db/pool.js';
import { log } from '../log.js';
import { ldapAuthenticate, type LdapUser } from '../security/ldap/directory.js';
import { loadLdapSettings, type LdapSettings } from '../security/ldap/settings.js';
import type { AuthenticatedUser } from './auth.js';
import type { ApiContext } from './context.js';
import type { Queryable } from './engine/resource.js';
import { grantRole, revokeRole } from './resources/common.js';

/**
 * A login by the directory (security/ldap), then the user as AWX's LDAP backend leaves it:
 * - refused when AUTH_LDAP_REQUIRE_GROUP is set and the user is not in it, or the user is in
 *   AUTH_LDAP_DENY_GROUP;
 * - created at the first login (no local password: it cannot log in locally) with the
 *   directory DN as `ldap_dn`, and at every login its AUTH_LDAP_USER_ATTR_MAP fields and its
 *   AUTH_LDAP_USER_FLAGS_BY_GROUP flags (is_superuser, is_system_auditor: in any of the
 *   groups, or not) set from the directory;
 * - AUTH_LDAP_ORGANIZATION_MAP and AUTH_LDAP_TEAM_MAP as AWX's _update_m2m_from_groups reads
 *   them: for each role (organization admins, auditors, users; team users) `true` grants,
 *   a DN or list of DNs grants when the user is in one of them, and otherwise the role is
 *   revoked when `remove` (`remove_admins`, … ; default true) says so, kept when not; `null`
 *   or absent leaves it alone. Missing organizations and teams are created.
 * A local user (no ldap_dn) is never logged in by LDAP: the caller checks this first.
 * Answers undefined when LDAP is off, null when the directory refuses the login; throws
 * LdapUnavailable when it cannot be asked.
 */
type Opts = boolean | string | string[] | null | undefined;

async function desiredState(user: LdapUser, opts: Opts, remove: boolean): Promise<boolean | null> {
  if (opts === null || opts === undefined) return null;
  if (opts === true) return true;
  if (opts !== false) {
    for (const dn of typeof opts === 'string' ? [opts] : opts) if (typeof dn === 'string' && await user.isMember(dn)) return true;
  }
  return remove ? false : null;
}

async function setRole(db: Queryable, type: string, id: number, role: string, userId: number, state: boolean | null): Promise<void> {
  if (state === true) await grantRole(db, type, id, role, userId);
  else if (state === false) await revokeRole(db, type, id, role, userId);
}

async function organizationId(db: Queryable, name: string): Promise<number> {
  const { rows } = await db.query(`WITH made AS (INSERT INTO organizations (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id)
    SELECT id FROM made UNION ALL SELECT id FROM organizations WHERE name = $1 LIMIT 1`, [name]);
  return Number(rows[0].id);
}

async function teamId(db: Queryable, orgId: number, name: string): Promise<number> {
  const { rows } = await db.query(`WITH made AS (INSERT INTO teams (name, organization_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING id)
    SELECT id FROM made UNION ALL SELECT id FROM teams WHERE organization_id = $2 AND name = $1 LIMIT 1`, [name, orgId]);
  return Number(rows[0].id);
}

export async function ldapLogin(ctx: ApiContext, username: string, password: string): Promise<AuthenticatedUser | null | undefined> {
  const settings = await loadLdapSettings(ctx.pool, ctx.secrets);
  if (!settings) return undefined;
  const found = await ldapAuthenticate(settings, username, password);
  if (!found) return null;
  try {
    return await applyLogin(ctx, settings, found, username);
  } finally {
    await found.close();
  }
}

async function applyLogin(ctx: ApiContext, settings: LdapSettings, found: LdapUser, username: string): Promise<AuthenticatedUser | null> {
  if (settings.requireGroup && !(await found.isMember(settings.requireGroup))) {
    log.info('ldap login refused: not in AUTH_LDAP_REQUIRE_GROUP', { username });
    return null;
  }
  if (settings.denyGroup && await found.isMember(settings.denyGroup)) {
    log.info('ldap login refused: in AUTH_LDAP_DENY_GROUP', { username });
    return null;
  }
  const flags: Record<string, boolean> = {};
  for (const [flag, dns] of Object.entries(settings.flagsByGroup)) {
    flags[flag] = false;
    for (const dn of dns) if (await found.isMember(dn)) { flags[flag] = true; break; }
  }
  const orgStates: [string, string, boolean | null][] = [];
  for (const [org, o] of Object.entries(settings.organizationMap)) {
    const remove = o.remove === undefined ? true : !!o.remove;
    for (const [role, key] of [['admin_role', 'admins'], ['auditor_role', 'auditors'], ['member_role', 'users']] as const) {
      const removeThis = o[`remove_${key}`] === undefined ? remove : !!o[`remove_${key}`];
      orgStates.push([org, role, await desiredState(found, o[key] as Opts, removeThis)]);
    }
  }
  const teamStates: [string, string, boolean | null][] = [];
  for (const [team, o] of Object.entries(settings.teamMap)) {
    teamStates.push([String(o.organization), team, await desiredState(found, o.users as Opts, o.remove === undefined ? true : !!o.remove)]);
  }
  return withTransaction(ctx.pool, async (db) => {
    const a = found.attributes;
    const { rows } = await db.query(
      `INSERT INTO users (username, password, ldap_dn, first_name, last_name, email)
       VALUES ($1, '', $2, coalesce($3, ''), coalesce($4, ''), coalesce($5, ''))
       ON CONFLICT (username) DO UPDATE SET ldap_dn = EXCLUDED.ldap_dn,
         first_name = coalesce($3, users.first_name), last_name = coalesce($4, users.last_name), email = coalesce($5, users.email), modified = now()
         WHERE users.ldap_dn <> ''
       RETURNING id, username, is_superuser, is_system_auditor, is_active`,
      [username, found.dn, a.first_name ?? null, a.last_name ?? null, a.email ?? null]);
    const user = rows[0];
    // No row: a local user of that name appeared meanwhile (it is never taken over); inactive: disabled here.
    if (!user || !user.is_active) return null;
    if (Object.keys(flags).length) {
      const { rows: [f] } = await db.query(
        `UPDATE users SET is_superuser = coalesce($2, is_superuser), is_system_auditor = coalesce($3, is_system_auditor) WHERE id = $1
         RETURNING is_superuser, is_system_auditor`, [user.id, flags.is_superuser ?? null, flags.is_system_auditor ?? null]);
      Object.assign(user, f);
    }
    for (const [org, role, state] of orgStates) if (state !== null) await setRole(db, 'organization', await organizationId(db, org), role, user.id, state);
    for (const [org, team, state] of teamStates) if (state !== null) await setRole(db, 'team', await teamId(db, await organizationId(db, org), team), 'member_role', user.id, state);
    await db.query('UPDATE users SET last_login = now() WHERE id = $1', [user.id]);
    return { id: Number(user.id), username: user.username, is_superuser: user.is_superuser, is_system_auditor: user.is_system_auditor };
  });
}
