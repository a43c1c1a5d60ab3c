-- LDAP login (issue #16; src/api/ldap-login.ts): a user an LDAP login created carries its
-- directory DN (AWX's Profile.ldap_dn). A user without one is local: LDAP never logs in as it,
-- so a directory entry named like a local account (admin) cannot take that account over.
ALTER TABLE users ADD COLUMN ldap_dn text NOT NULL DEFAULT '';
