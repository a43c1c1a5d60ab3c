import { Client, InvalidCredentialsError, NoSuchObjectError, type Entry } from 'ldapts';
import { PlaystreamError } from '../../errors.js';
import type { LdapSearch, LdapSettings } from './settings.js';

/**
 * One LDAP login against the directory, as django-auth-ldap makes it for AWX:
 * 1. the user's DN: AUTH_LDAP_USER_DN_TEMPLATE with the username (DN-escaped), else the one
 *    entry AUTH_LDAP_USER_SEARCH finds (`%(user)s` filter-escaped), searched bound as
 *    AUTH_LDAP_BIND_DN (anonymously when empty); none, or more than one: no login;
 * 2. a bind as that DN with the password (an empty password is refused before: LDAP takes a
 *    simple bind without one as anonymous, which would let anyone in);
 * 3. back on the service account, the user's attributes and groups: AUTH_LDAP_GROUP_SEARCH
 *    with `(<member_attr>=<user DN>)` (or for posix groups `(|(gidNumber=…)(memberUid=…))`)
 *    added to its filter; nested types follow groups that hold groups, ten levels at most.
 *    `isMember(dn)` answers for any group: found by the search, else an LDAP compare on it.
 * Answers null for a wrong username or password; throws LdapUnavailable (PS_ERR_LDAP) when
 * the directory cannot be asked (no server answers, the service account is refused, a TLS
 * failure), so the login can say so instead of "wrong password".
 */
export class LdapUnavailable extends PlaystreamError {
  constructor(message: string, cause?: unknown) { super('PS_ERR_LDAP', message, { cause }); }
}

export interface LdapUser {
  dn: string;
  attributes: Record<string, string>;
  groupDns: string[];
  isMember(groupDn: string): Promise<boolean>;
  /** Ends the connection the membership checks use. */
  close(): Promise<void>;
}

const MAX_NESTING = 10;

/** RFC 4515: a value inside a search filter (`*`, parentheses, backslash and NUL escaped). */
export function escapeFilter(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** RFC 4514: a value inside a DN. */
function escapeDnValue(v: string): string {
  return v.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`).replace(/^ | $/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
}

function first(entry: Entry, attr: string): string {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  const v = key ? entry[key] : undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? '' : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

async function connect(settings: LdapSettings): Promise<Client> {
  const reasons: string[] = [];
  for (const url of settings.uris) {
    const client = new Client({ url, timeout: settings.timeoutMs, connectTimeout: settings.timeoutMs });
    try {
      if (settings.startTls) await client.startTLS({});
      // A bind is the first operation of every login; an anonymous one probes the server here.
      if (settings.bindDn) await client.bind(settings.bindDn, settings.bindPassword);
      return client;
    } catch (err) {
      await client.unbind().catch(() => undefined);
      if (err instanceof InvalidCredentialsError) throw new LdapUnavailable(`the LDAP server ${url} refused AUTH_LDAP_BIND_DN's password`, err);
      reasons.push(`${url}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  throw new LdapUnavailable(`no LDAP server answered (${reasons.join('; ')})`);
}

async function rebindService(client: Client, settings: LdapSettings): Promise<void> {
  if (settings.bindDn) await client.bind(settings.bindDn, settings.bindPassword);
}

async function findUserDn(client: Client, settings: LdapSettings, username: string, attrs: string[]): Promise<{ dn: string; entry: Entry } | null> {
  const found: Entry[] = [];
  for (const s of settings.userSearch) {
    const filter = s.filter.split('%(user)s').join(escapeFilter(username));
    const { searchEntries } = await client.search(s.base, { scope: s.scope, filter, attributes: attrs, sizeLimit: 2 })
      .catch((err) => { if (err instanceof NoSuchObjectError) return { searchEntries: [] as Entry[] }; throw err; });
    found.push(...searchEntries);
  }
  return found.length === 1 ? { dn: found[0].dn, entry: found[0] } : null;
}

async function groupSearch(client: Client, search: LdapSearch, condition: string): Promise<string[]> {
  const filter = `(&${search.filter}${condition})`;
  const { searchEntries } = await client.search(search.base, { scope: search.scope, filter, attributes: ['dn'] })
    .catch((err) => { if (err instanceof NoSuchObjectError) return { searchEntries: [] as Entry[] }; throw err; });
  return searchEntries.map((e) => e.dn);
}

export async function ldapAuthenticate(settings: LdapSettings, username: string, password: string): Promise<LdapUser | null> {
  if (!password || !username) return null;
  if (!settings.userDnTemplate && !settings.userSearch.length) return null;
  const attrs = [...new Set([...Object.values(settings.userAttrMap), 'gidNumber', 'uid'])];
  const client = await connect(settings);
  let done = false;
  try {
    let dn: string;
    let entry: Entry | undefined;
    try {
      if (settings.userDnTemplate) {
        dn = settings.userDnTemplate.split('%(user)s').join(escapeDnValue(username));
      } else {
        const found = await findUserDn(client, settings, username, attrs);
        if (!found) return null;
        ({ dn, entry } = found);
      }
      try {
        await client.bind(dn, password);
      } catch (err) {
        if (err instanceof InvalidCredentialsError || err instanceof NoSuchObjectError) return null;
        throw err;
      }
      await rebindService(client, settings);
      if (!entry) {
        const { searchEntries } = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: attrs })
          .catch((err) => { if (err instanceof NoSuchObjectError) return { searchEntries: [] as Entry[] }; throw err; });
        entry = searchEntries[0] ?? ({ dn } as Entry);
      }
    } catch (err) {
      if (err instanceof PlaystreamError) throw err;
      throw new LdapUnavailable(`LDAP error during login: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    const attributes: Record<string, string> = {};
    for (const [field, attr] of Object.entries(settings.userAttrMap)) attributes[field] = first(entry, attr);
    const type = settings.groupType;
    const memberValue = type.holds === 'uid' ? username : dn;
    let groupDns: string[] = [];
    try {
      if (settings.groupSearch) {
        const search = settings.groupSearch;
        if (type.holds === 'uid') {
          const gid = first(entry, 'gidNumber');
          groupDns = await groupSearch(client, search, `(|${gid ? `(gidNumber=${escapeFilter(gid)})` : ''}(memberUid=${escapeFilter(username)}))`);
        } else {
          const seen = new Set<string>();
          let frontier = [dn];
          for (let depth = 0; frontier.length && depth < (type.nested ? MAX_NESTING : 1); depth++) {
            const next: string[] = [];
            for (const member of frontier) {
              for (const g of await groupSearch(client, search, `(${type.memberAttr}=${escapeFilter(member)})`)) {
                if (!seen.has(g.toLowerCase())) { seen.add(g.toLowerCase()); groupDns.push(g); next.push(g); }
              }
            }
            frontier = next;
          }
        }
      }
    } catch (err) {
      throw new LdapUnavailable(`LDAP group search failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    const found = new Set(groupDns.map((g) => g.toLowerCase()));
    done = true;
    return {
      dn, attributes, groupDns,
      isMember: async (groupDn: string) => {
        if (found.has(groupDn.toLowerCase())) return true;
        try {
          return await client.compare(groupDn, type.memberAttr, memberValue);
        } catch (err) {
          if (err instanceof NoSuchObjectError) return false;
          throw new LdapUnavailable(`LDAP compare on ${groupDn} failed: ${(err as Error).message}`, err);
        }
      },
      close: async () => { await client.unbind().catch(() => undefined); },
    };
  } finally {
    if (!done) await client.unbind().catch(() => undefined);
  }
}
