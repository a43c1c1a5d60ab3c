import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { ldifEntry, startSlapd, type Slapd } from '../support/slapd.js';
import { ADMIN_PASSWORD, apiRequest, basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * LDAP login (AWX's AUTH_LDAP_* settings) against a real slapd started for this file
 * (tests/support/slapd.ts): users from the directory log in with the login form and basic
 * auth, land in the organizations and teams their groups map to, lose what their groups no
 * longer give, are refused for a wrong or empty password, outside the required group or in
 * the denied one; a local account is never taken over by a directory entry of its name; and
 * with the directory down an LDAP login says so while local users still log in.
 */
let t: TestEnv;
let url: string;
let api: ApiCall;
let slapd: Slapd;
const base = 'dc=example,dc=com';
const people = `ou=people,${base}`;
const groups = `ou=groups,${base}`;
const person = (uid: string, given: string, sn: string, password: string) => ldifEntry(`uid=${uid},${people}`, {
  objectClass: ['inetOrgPerson'], uid, cn: `${given} ${sn}`, givenName: given, sn, mail: `${uid}@example.com`, userPassword: password });
const group = (cn: string, members: string[]) => ldifEntry(`cn=${cn},${groups}`, {
  objectClass: ['groupOfNames'], cn, member: members.map((m) => `uid=${m},${people}`) });

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  slapd = await startSlapd([
    ldifEntry(base, { objectClass: ['dcObject', 'organization'], dc: 'example', o: 'Example' }),
    ldifEntry(people, { objectClass: ['organizationalUnit'], ou: 'people' }),
    ldifEntry(groups, { objectClass: ['organizationalUnit'], ou: 'groups' }),
    ldifEntry(`cn=reader,${base}`, { objectClass: ['organizationalRole', 'simpleSecurityObject'], cn: 'reader', userPassword: 'reader-pass' }),
    person('alice', 'Alice', 'Liddell', 'alice-pass'),
    person('bob', 'Bob', 'Builder', 'bob-pass'),
    person('carol', 'Carol', 'Danvers', 'carol-pass'),
    person('admin', 'Directory', 'Admin', 'ldap-admin-pass'),
    group('awx-users', ['alice', 'carol', 'admin']),
    group('engineers', ['alice']),
    group('ops-admins', ['alice']),
    group('auditors', ['alice']),
    group('banned', ['carol']),
  ].join(''));
});
afterAll(async () => { await slapd?.stop(); });

async function formLogin(username: string, password: string): Promise<{ status: number; cookie?: string; detail?: string }> {
  const first = await apiRequest(url, 'GET', '/api/login/');
  const csrf = /csrftoken=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')![1];
  const res = await fetch(`${url}/api/login/`, { method: 'POST', redirect: 'manual',
    headers: { cookie: `csrftoken=${csrf}`, 'x-csrftoken': csrf, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString() });
  const text = await res.text();
  const session = /sessionid=([^;]+)/.exec(res.headers.getSetCookie().join(';'))?.[1];
  return { status: res.status, cookie: session ? `sessionid=${session}` : undefined, detail: text ? JSON.parse(text).detail : undefined };
}

const me = async (headers: Record<string, string>) => (await api('GET', '/api/v2/me/', undefined, headers)).json.results?.[0];

describe('LDAP login against slapd', () => {
  it('takes AWX\'s settings, checks them, and never shows the bind password', async () => {
    const bad = await api('PATCH', '/api/v2/settings/ldap/', { AUTH_LDAP_GROUP_TYPE: 'MagicGroupType', AUTH_LDAP_USER_SEARCH: [people, 'SCOPE_EVERYWHERE', '(uid=%(user)s)'] });
    expect(bad.status).toBe(400);
    expect(bad.json.AUTH_LDAP_GROUP_TYPE[0]).toContain('MagicGroupType');
    expect(bad.json.AUTH_LDAP_USER_SEARCH[0]).toContain('scope');
    const res = await api('PATCH', '/api/v2/settings/ldap/', {
      AUTH_LDAP_SERVER_URI: slapd.url,
      AUTH_LDAP_BIND_DN: `cn=reader,${base}`,
      AUTH_LDAP_BIND_PASSWORD: 'reader-pass',
      AUTH_LDAP_USER_SEARCH: [people, 'SCOPE_SUBTREE', '(uid=%(user)s)'],
      AUTH_LDAP_USER_ATTR_MAP: { first_name: 'givenName', last_name: 'sn', email: 'mail' },
      AUTH_LDAP_GROUP_SEARCH: [groups, 'SCOPE_SUBTREE', '(objectClass=groupOfNames)'],
      AUTH_LDAP_GROUP_TYPE: 'GroupOfNamesType',
      AUTH_LDAP_GROUP_TYPE_PARAMS: { name_attr: 'cn' },
      AUTH_LDAP_REQUIRE_GROUP: `cn=awx-users,${groups}`,
      AUTH_LDAP_DENY_GROUP: `cn=banned,${groups}`,
      AUTH_LDAP_USER_FLAGS_BY_GROUP: { is_system_auditor: [`cn=auditors,${groups}`] },
      AUTH_LDAP_ORGANIZATION_MAP: { 'LDAP Org': { users: [`cn=awx-users,${groups}`], admins: `cn=ops-admins,${groups}`, remove_admins: true } },
      AUTH_LDAP_TEAM_MAP: { Engineering: { organization: 'LDAP Org', users: `cn=engineers,${groups}`, remove: true } },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.AUTH_LDAP_BIND_PASSWORD).toBe('$encrypted$');
    const { rows } = await t.pool.query(`SELECT value::text AS v FROM api_settings WHERE key = 'AUTH_LDAP_BIND_PASSWORD'`);
    expect(rows[0].v).not.toContain('reader-pass');
    const activity = await t.pool.query(`SELECT count(*)::int AS n FROM activity_stream x WHERE strpos(x::text, 'reader-pass') > 0`);
    expect(activity.rows[0].n).toBe(0);
    // Sending the placeholder back keeps the password.
    expect((await api('PATCH', '/api/v2/settings/ldap/', { AUTH_LDAP_BIND_PASSWORD: '$encrypted$' })).status).toBe(200);
  });

  it('logs a directory user in, with its attributes, flags, organization and team from its groups', async () => {
    const login = await formLogin('alice', 'alice-pass');
    expect(login.status, login.detail).toBe(302);
    const alice = await me({ cookie: login.cookie! });
    expect([alice.username, alice.first_name, alice.last_name, alice.email, alice.ldap_dn, alice.is_system_auditor, alice.is_superuser])
      .toEqual(['alice', 'Alice', 'Liddell', 'alice@example.com', `uid=alice,${people}`, true, false]);
    const org = (await api('GET', '/api/v2/organizations/?name=LDAP Org')).json.results[0];
    expect(org).toBeDefined();
    const team = (await api('GET', '/api/v2/teams/?name=Engineering')).json.results[0];
    expect(team.organization).toBe(org.id);
    expect((await api('GET', `/api/v2/teams/${team.id}/users/`)).json.results.map((u: any) => u.username)).toEqual(['alice']);
    expect((await api('GET', `/api/v2/organizations/${org.id}/admins/`)).json.results.map((u: any) => u.username)).toEqual(['alice']);
    // Basic auth works for directory users too; the user has no local password.
    expect((await me(basicAuth('alice', 'alice-pass'))).username).toBe('alice');
    expect((await t.pool.query(`SELECT password FROM users WHERE username = 'alice'`)).rows[0].password).toBe('');
  });

  it('refuses a wrong password, an empty one, a filter in the username, and users outside the required group or in the denied one', async () => {
    expect((await formLogin('alice', 'wrong')).status).toBe(401);
    expect((await formLogin('alice', '')).status).toBe(401);
    expect((await formLogin('*', 'alice-pass')).status).toBe(401);
    expect((await formLogin('alice)(uid=*', 'alice-pass')).status).toBe(401);
    expect((await formLogin('bob', 'bob-pass')).status).toBe(401); // not in awx-users
    expect((await formLogin('carol', 'carol-pass')).status).toBe(401); // in banned
    const { rows } = await t.pool.query(`SELECT username FROM users WHERE username IN ('bob', 'carol', '*')`);
    expect(rows).toEqual([]);
  });

  it('never logs in a local user through a directory entry of the same name', async () => {
    expect((await formLogin('admin', 'ldap-admin-pass')).status).toBe(401);
    expect((await t.pool.query(`SELECT ldap_dn FROM users WHERE username = 'admin'`)).rows[0].ldap_dn).toBe('');
    expect((await formLogin('admin', ADMIN_PASSWORD)).status).toBe(302);
  });

  it('takes away a team and an organization role when the directory no longer gives them', async () => {
    const client = new Client({ url: slapd.url });
    await client.bind(slapd.rootDn, slapd.rootPassword);
    await client.del(`cn=engineers,${groups}`);
    await client.del(`cn=ops-admins,${groups}`);
    await client.unbind();
    expect((await formLogin('alice', 'alice-pass')).status).toBe(302);
    const team = (await api('GET', '/api/v2/teams/?name=Engineering')).json.results[0];
    expect((await api('GET', `/api/v2/teams/${team.id}/users/`)).json.count).toBe(0);
    const org = (await api('GET', '/api/v2/organizations/?name=LDAP Org')).json.results[0];
    expect((await api('GET', `/api/v2/organizations/${org.id}/admins/`)).json.count).toBe(0);
    expect((await api('GET', `/api/v2/organizations/${org.id}/users/`)).json.results.map((u: any) => u.username)).toContain('alice');
  });

  it('with the directory down, says so to a directory user while local users still log in', async () => {
    await slapd.stop();
    try {
      const down = await formLogin('alice', 'alice-pass');
      expect(down.status).toBe(503);
      expect(down.detail).toContain('LDAP directory cannot be reached');
      expect((await api('GET', '/api/v2/me/', undefined, basicAuth('alice', 'alice-pass'))).status).toBe(503);
      expect((await formLogin('admin', ADMIN_PASSWORD)).status).toBe(302);
      expect((await me(basicAuth('admin', ADMIN_PASSWORD))).username).toBe('admin');
    } finally {
      await slapd.start();
    }
    expect((await formLogin('alice', 'alice-pass')).status).toBe(302);
  });
});
