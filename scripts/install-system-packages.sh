#!/usr/bin/env bash
# Installs the Debian packages Playstream runs (as root), skipping those already present.
# `npm start` and `npm test` do the same on demand; this does it ahead of time. The list is
# src/services/system-packages.ts's `binaries` (tests/foundation/system-packages.test.ts
# checks the two agree), with the awx.awx collection (`ansible`) and `python3-tz`/`python3-dateutil` the API tests use.
# subversion serves svn projects; slapd is started by the LDAP tests.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v git >/dev/null || need+=(git)
command -v ansible-playbook >/dev/null || need+=(ansible-core)
command -v ansible-runner >/dev/null || need+=(python3-ansible-runner)
command -v bwrap >/dev/null || need+=(bubblewrap)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v svn >/dev/null || need+=(subversion)
command -v slapd >/dev/null || [ -x /usr/sbin/slapd ] || need+=(slapd)
[ -d /usr/lib/python3/dist-packages/ansible_collections/awx ] || need+=(ansible)
[ -d /usr/lib/python3/dist-packages/pytz ] || need+=(python3-tz)
[ -d /usr/lib/python3/dist-packages/dateutil ] || need+=(python3-dateutil)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages; as root run: apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
