import type pg from 'pg';
import type { SecretBox } from '../secrets.js';
import { isEncrypted } from '../secrets.js';

/**
 * AWX's LDAP settings (category `ldap` of /api/v2/settings/, django-auth-ldap's names and
 * AWX's defaults), how they are checked when written and read for a login. An empty
 * AUTH_LDAP_SERVER_URI turns LDAP off. AUTH_LDAP_BIND_PASSWORD is stored sealed with the
 * SECRET_KEY box and shown as "$encrypted$" (api/routes/config.ts).
 * Supported group types: MemberDNGroupType (member_attr, name_attr), GroupOfNamesType,
 * GroupOfUniqueNamesType, ActiveDirectoryGroupType, OrganizationalRoleGroupType, their Nested*
 * forms, and PosixGroupType; others are refused by name.
 */
export const LDAP_SETTING_DEFAULTS: Record<string, unknown> = {
  AUTH_LDAP_SERVER_URI: '',
  AUTH_LDAP_BIND_DN: '',
  AUTH_LDAP_BIND_PASSWORD: '',
  AUTH_LDAP_START_TLS: false,
  AUTH_LDAP_CONNECTION_OPTIONS: { OPT_REFERRALS: 0, OPT_NETWORK_TIMEOUT: 30 },
  AUTH_LDAP_USER_SEARCH: [],
  AUTH_LDAP_USER_DN_TEMPLATE: null,
  AUTH_LDAP_USER_ATTR_MAP: {},
  AUTH_LDAP_GROUP_SEARCH: [],
  AUTH_LDAP_GROUP_TYPE: 'MemberDNGroupType',
  AUTH_LDAP_GROUP_TYPE_PARAMS: { member_attr: 'member', name_attr: 'cn' },
  AUTH_LDAP_REQUIRE_GROUP: null,
  AUTH_LDAP_DENY_GROUP: null,
  AUTH_LDAP_USER_FLAGS_BY_GROUP: {},
  AUTH_LDAP_ORGANIZATION_MAP: {},
  AUTH_LDAP_TEAM_MAP: {},
};

export const SECRET_LDAP_SETTINGS = new Set(['AUTH_LDAP_BIND_PASSWORD']);

/** A group type: the attribute of a group naming its members and what it holds (a DN, or a posix uid). */
export interface GroupType { memberAttr: string; holds: 'dn' | 'uid'; nested: boolean }

const MEMBER_DN_TYPES: Record<string, string | null> = {
  MemberDNGroupType: null, GroupOfNamesType: 'member', GroupOfUniqueNamesType: 'uniqueMember',
  ActiveDirectoryGroupType: 'member', OrganizationalRoleGroupType: 'roleOccupant',
};

export function groupTypeOf(name: string, params: Record<string, unknown>): GroupType | undefined {
  const nested = name.startsWith('Nested');
  const base = nested ? name.slice('Nested'.length) : name;
  if (base === 'PosixGroupType' && !nested) return { memberAttr: 'memberUid', holds: 'uid', nested: false };
  if (!(base in MEMBER_DN_TYPES)) return undefined;
  return { memberAttr: MEMBER_DN_TYPES[base] ?? String(params.member_attr ?? 'member'), holds: 'dn', nested };
}

export interface LdapSearch { base: string; scope: 'base' | 'one' | 'sub'; filter: string }

export interface LdapSettings {
  uris: string[];
  bindDn: string;
  bindPassword: string;
  startTls: boolean;
  timeoutMs: number;
  userSearch: LdapSearch[];
  userDnTemplate: string | null;
  userAttrMap: Record<string, string>;
  groupSearch: LdapSearch | null;
  groupType: GroupType;
  requireGroup: string | null;
  denyGroup: string | null;
  flagsByGroup: Record<string, string[]>;
  organizationMap: Record<string, Record<string, unknown>>;
  teamMap: Record<string, Record<string, unknown>>;
}

const SCOPES: Record<string, LdapSearch['scope']> = { SCOPE_BASE: 'base', SCOPE_ONELEVEL: 'one', SCOPE_SUBTREE: 'sub' };
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const dnList = (v: unknown) => (typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v as string[] : undefined);

function searchOf(v: unknown, what: string): LdapSearch {
  if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'string')) {
    throw new Error(`${what} must be [base DN, scope, filter]`);
  }
  const scope = SCOPES[v[1] as string];
  if (!scope) throw new Error(`${what}: scope must be one of ${Object.keys(SCOPES).join(', ')}`);
  if (!/^\(.*\)$/s.test(v[2] as string)) throw new Error(`${what}: the filter must be in parentheses`);
  return { base: v[0] as string, scope, filter: v[2] as string };
}

/** Why a value of an LDAP setting cannot be used (a 400 on the setting), or undefined. */
export function ldapSettingProblem(key: string, v: unknown): string | undefined {
  try {
    switch (key) {
      case 'AUTH_LDAP_SERVER_URI':
        if (typeof v !== 'string') return 'Expected a string.';
        for (const u of v.split(/[\s,]+/).filter(Boolean)) if (!/^ldaps?:\/\/[^/\s]+\/?$/i.test(u)) return `Invalid URI "${u}": expected ldap:// or ldaps://host[:port].`;
        return undefined;
      case 'AUTH_LDAP_USER_SEARCH':
        if (!Array.isArray(v)) return 'Expected a list.';
        if (v.length && Array.isArray(v[0])) v.forEach((s, i) => searchOf(s, `search ${i + 1}`));
        else if (v.length) searchOf(v, 'AUTH_LDAP_USER_SEARCH');
        return undefined;
      case 'AUTH_LDAP_GROUP_SEARCH':
        if (Array.isArray(v) && v.length) searchOf(v, 'AUTH_LDAP_GROUP_SEARCH');
        else if (!Array.isArray(v)) return 'Expected a list.';
        return undefined;
      case 'AUTH_LDAP_USER_DN_TEMPLATE':
        if (v !== null && (typeof v !== 'string' || (v && !v.includes('%(user)s')))) return 'Must be null or a DN holding %(user)s.';
        return undefined;
      case 'AUTH_LDAP_GROUP_TYPE':
        return typeof v === 'string' && groupTypeOf(v, {}) ? undefined
          : `"${String(v)}" is not supported; the group types are ${[...Object.keys(MEMBER_DN_TYPES), ...Object.keys(MEMBER_DN_TYPES).map((t) => `Nested${t}`), 'PosixGroupType'].join(', ')}.`;
      case 'AUTH_LDAP_GROUP_TYPE_PARAMS':
        if (!isObject(v) || Object.entries(v).some(([k, x]) => !['member_attr', 'name_attr'].includes(k) || typeof x !== 'string')) {
          return 'Expected {"member_attr": "...", "name_attr": "..."}.';
        }
        return undefined;
      case 'AUTH_LDAP_REQUIRE_GROUP':
      case 'AUTH_LDAP_DENY_GROUP':
        return v === null || typeof v === 'string' ? undefined : 'Must be null or a group DN.';
      case 'AUTH_LDAP_USER_ATTR_MAP':
        if (!isObject(v)) return 'Expected an object.';
        for (const [k, x] of Object.entries(v)) {
          if (!['first_name', 'last_name', 'email'].includes(k)) return `"${k}" is not a user field (first_name, last_name, email).`;
          if (typeof x !== 'string') return `${k}: expected an attribute name.`;
        }
        return undefined;
      case 'AUTH_LDAP_USER_FLAGS_BY_GROUP':
        if (!isObject(v)) return 'Expected an object.';
        for (const [k, x] of Object.entries(v)) {
          if (!['is_superuser', 'is_system_auditor'].includes(k)) return `"${k}" is not a user flag (is_superuser, is_system_auditor).`;
          if (!dnList(x)) return `${k}: expected a group DN or a list of them.`;
        }
        return undefined;
      case 'AUTH_LDAP_ORGANIZATION_MAP':
        if (!isObject(v)) return 'Expected an object.';
        for (const [org, o] of Object.entries(v)) {
          if (!isObject(o)) return `${org}: expected an object.`;
          for (const [k, x] of Object.entries(o)) {
            if (['admins', 'auditors', 'users'].includes(k)) { if (x !== null && typeof x !== 'boolean' && !dnList(x)) return `${org}.${k}: expected true, false, null, a DN or a list of DNs.`; }
            else if (['remove', 'remove_admins', 'remove_auditors', 'remove_users'].includes(k)) { if (typeof x !== 'boolean') return `${org}.${k}: expected a boolean.`; }
            else return `${org}: "${k}" is not an option (admins, auditors, users, remove, remove_admins, remove_auditors, remove_users).`;
          }
        }
        return undefined;
      case 'AUTH_LDAP_TEAM_MAP':
        if (!isObject(v)) return 'Expected an object.';
        for (const [team, o] of Object.entries(v)) {
          if (!isObject(o) || typeof o.organization !== 'string' || !o.organization) return `${team}: expected an object naming its organization.`;
          for (const [k, x] of Object.entries(o)) {
            if (k === 'users') { if (x !== null && typeof x !== 'boolean' && !dnList(x)) return `${team}.users: expected true, false, null, a DN or a list of DNs.`; }
            else if (k === 'remove') { if (typeof x !== 'boolean') return `${team}.remove: expected a boolean.`; }
            else if (k !== 'organization') return `${team}: "${k}" is not an option (organization, users, remove).`;
          }
        }
        return undefined;
      case 'AUTH_LDAP_CONNECTION_OPTIONS':
        if (!isObject(v)) return 'Expected an object.';
        for (const [k, x] of Object.entries(v)) {
          if (k === 'OPT_NETWORK_TIMEOUT') { if (typeof x !== 'number' || x <= 0 || x > 600) return 'OPT_NETWORK_TIMEOUT: seconds, 1 to 600.'; }
          else if (k === 'OPT_REFERRALS') { if (x !== 0 && x !== false) return 'OPT_REFERRALS: only 0 (referrals are not followed).'; }
          else return `"${k}" is not supported (OPT_NETWORK_TIMEOUT, OPT_REFERRALS).`;
        }
        return undefined;
      default:
        return undefined;
    }
  } catch (err) {
    return (err as Error).message;
  }
}

/** The LDAP settings in force, or null when LDAP is off (no server URI). */
export async function loadLdapSettings(db: Pick<pg.Pool, 'query'>, secrets: SecretBox): Promise<LdapSettings | null> {
  const { rows } = await db.query<{ key: string; value: unknown }>(`SELECT key, value FROM api_settings WHERE key LIKE 'AUTH\\_LDAP\\_%'`);
  const s: Record<string, any> = { ...LDAP_SETTING_DEFAULTS };
  for (const r of rows) if (r.key in s && !ldapSettingProblem(r.key, r.value)) s[r.key] = r.value;
  const uris = String(s.AUTH_LDAP_SERVER_URI).split(/[\s,]+/).filter(Boolean);
  if (!uris.length) return null;
  const password = String(s.AUTH_LDAP_BIND_PASSWORD ?? '');
  const userSearch: LdapSearch[] = !s.AUTH_LDAP_USER_SEARCH.length ? []
    : Array.isArray(s.AUTH_LDAP_USER_SEARCH[0]) ? s.AUTH_LDAP_USER_SEARCH.map((x: unknown) => searchOf(x, 'search'))
      : [searchOf(s.AUTH_LDAP_USER_SEARCH, 'search')];
  const flags: Record<string, string[]> = {};
  for (const [k, x] of Object.entries(s.AUTH_LDAP_USER_FLAGS_BY_GROUP as Record<string, unknown>)) flags[k] = dnList(x) ?? [];
  return {
    uris,
    bindDn: String(s.AUTH_LDAP_BIND_DN ?? ''),
    bindPassword: password && isEncrypted(password) ? secrets.decrypt(password) : password,
    startTls: s.AUTH_LDAP_START_TLS === true,
    timeoutMs: Number(s.AUTH_LDAP_CONNECTION_OPTIONS?.OPT_NETWORK_TIMEOUT ?? 30) * 1000,
    userSearch,
    userDnTemplate: s.AUTH_LDAP_USER_DN_TEMPLATE || null,
    userAttrMap: s.AUTH_LDAP_USER_ATTR_MAP,
    groupSearch: s.AUTH_LDAP_GROUP_SEARCH.length ? searchOf(s.AUTH_LDAP_GROUP_SEARCH, 'group search') : null,
    groupType: groupTypeOf(s.AUTH_LDAP_GROUP_TYPE, s.AUTH_LDAP_GROUP_TYPE_PARAMS)!,
    requireGroup: s.AUTH_LDAP_REQUIRE_GROUP || null,
    denyGroup: s.AUTH_LDAP_DENY_GROUP || null,
    flagsByGroup: flags,
    organizationMap: s.AUTH_LDAP_ORGANIZATION_MAP,
    teamMap: s.AUTH_LDAP_TEAM_MAP,
  };
}
