# shellcheck shell=bash
# Redis backend tests: redis-server 7 (also used for the 3-master cluster), redis-cli (cluster create and reshard)
# and redis-benchmark (redis-tools), and Garnet as a second RESP server (a local dotnet tool pinned in
# .config/dotnet-tools.json, run with --lua --lua-transaction-mode). Sourced by tools/setup.sh.
ensure_redis() {
  ensure_apt_package redis-server redis-tools
  # redis-server's Debian package starts a system service on port 6379; the tests start their own servers on free
  # ports and never use it, so it is left as the package installed it.
  log "redis-server: $(redis-server --version | awk '{print $3}')"
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  (cd "$root" && dotnet tool restore >/dev/null) || fail "dotnet tool restore failed (garnet-server is needed by the Redis tests)"
  log "garnet-server: $(cd "$root" && dotnet tool list | awk '$1 == "garnet-server" {print $2}')"
}
