# shellcheck shell=bash
# EF Core backend tests and benchmark: the PostgreSQL 15 server binaries (initdb, pg_ctl, postgres under
# /usr/lib/postgresql/15/bin). The tests start their own throwaway server in a temporary directory on a free loopback
# port; the system service the Debian package may start is never used. Sourced by tools/setup.sh.
ensure_postgres() {
  ensure_apt_package postgresql
  [[ -x /usr/lib/postgresql/15/bin/initdb ]] || fail "PostgreSQL 15 server binaries not found under /usr/lib/postgresql/15/bin (is the postgresql package for Debian 12 installed?)"
  log "postgres: $(/usr/lib/postgresql/15/bin/postgres --version)"
}
