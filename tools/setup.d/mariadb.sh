# shellcheck shell=bash
# MariaDB 10.11 for the EF Core backend's MySQL/MariaDB tests (tests/Sessions.EFCore.MariaDb.Tests) and benchmark: the
# fixtures run mariadb-install-db in a temporary directory and start their own mariadbd on a free loopback port, stopped
# by its process ID, so only the binaries are needed here. The package's own service start may be refused in a
# container (policy-rc.d); that is fine, the tests never use it.
ensure_mariadb() {
  ensure_apt_package mariadb-server mariadb-client
  command -v mariadbd >/dev/null || fail "mariadbd is not on PATH after installing the Debian package mariadb-server"
  command -v mariadb-install-db >/dev/null || fail "mariadb-install-db is not on PATH after installing mariadb-server"
  log "mariadb: $(mariadbd --version)"
}
