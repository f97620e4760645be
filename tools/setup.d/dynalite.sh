# shellcheck shell=bash
# dynalite (npm dynalite 4.0.0, a DynamoDB-compatible server on Node and LevelDB) for tests/Sessions.DynamoDb.Tests and
# bench/Sessions.DynamoDb.Bench: installed from tools/dynalite/package-lock.json with `npm ci`. The fixtures start their own
# servers (node tools/dynalite/node_modules/dynalite/cli.js --host 127.0.0.1 --port PORT) on free loopback ports, so
# nothing runs here. Sourced by tools/setup.sh.
ensure_dynalite() {
  local dir stamp
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../dynalite" && pwd)
  command -v node >/dev/null || fail "node not found; install Node.js 18 or later (Debian: apt-get install nodejs npm)"
  command -v npm >/dev/null || fail "npm not found; install npm (Debian: apt-get install npm)"
  # npm ci writes node_modules/.package-lock.json; it is stale when the lock file is newer or the package is gone.
  stamp="$dir/node_modules/.package-lock.json"
  if [[ ! -f $dir/node_modules/dynalite/cli.js || ! -f $stamp || $dir/package-lock.json -nt $stamp ]]; then
    log "dynalite: npm ci in tools/dynalite"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in $dir failed"
  fi
  node -e "require('$dir/node_modules/dynalite')" || fail "dynalite in $dir/node_modules does not load on node $(node --version)"
  log "dynalite: $(node -p "require('$dir/node_modules/dynalite/package.json').version") (node $(node --version))"
}
