# shellcheck shell=bash
# Memcached for tests/Sessions.Memcached.Tests and bench/Sessions.Memcached.Bench: the fixtures start their own servers
# (memcached -u root -l 127.0.0.1 -p PORT -U 0) on free loopback ports, so only the binary is needed here. The Debian
# package also starts a system service on 127.0.0.1:11211; the tests neither need nor touch it.
ensure_memcached() {
  ensure_apt_package memcached
  command -v memcached >/dev/null || fail "memcached is not on PATH after installing the Debian package"
  log "memcached: $(memcached -V)"
}
