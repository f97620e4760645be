# shellcheck shell=bash
# bench/load/lib/servers.sh: installing what is missing, building the apps, and starting the stores and the apps on
# loopback. Every start_* records its PID in STARTED (lib/procs.sh). Sourced by run.sh, which sets ROOT (the repo),
# RUN (private temp directory), ART (build output), PEERS_SRC and the *_PORT variables.

PY=/usr/bin/python3     # Debian's python: the one python3-flask & co. are installed for
APT_PKGS="wrk redis-server redis-tools memcached postgresql python3-flask python3-flask-session python3-redis gunicorn curl"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

install_missing() {     # apt packages that are missing (apt-get update only then)
  local missing=() p
  for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  as_root apt-get update -q >&2 || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
}

build_apps() {          # QuickStart and the built-in-session app, Release, into a private artifacts path
  local p
  for p in samples/QuickStart/QuickStart.csproj bench/BuiltinSession/BuiltinSession.csproj; do
    log "dotnet build -c Release $p"
    # --artifacts-path keeps this build's bin/obj apart from the ones the IDE and the tests use.
    (cd "$ROOT" && dotnet build "$p" -c Release --artifacts-path "$ART" --nologo -v q >"$RUN/build.log" 2>&1) ||
      { tail -40 "$RUN/build.log" >&2; die "dotnet build $p failed"; }
  done
  QUICKSTART_DIR=$ART/bin/QuickStart/release
  BUILTIN_DIR=$ART/bin/BuiltinSession/release
  [[ -f $QUICKSTART_DIR/QuickStart.dll && -f $BUILTIN_DIR/BuiltinSession.dll ]] || die "build output not found under $ART/bin"
}

copy_peers() {          # the peers' apps into RUN (never into the repo), express's node_modules from its lock file
  PEERS_DIR=$RUN/peers
  [[ -d $PEERS_SRC/flask && -d $PEERS_SRC/express ]] || die "the peers' apps are not at $PEERS_SRC (set PEERS_SRC)"
  mkdir -p "$PEERS_DIR"
  cp -r "$PEERS_SRC/flask" "$PEERS_DIR/"
  mkdir -p "$PEERS_DIR/express"
  cp "$PEERS_SRC/express/server.js" "$PEERS_SRC/express/package.json" "$PEERS_SRC/express/package-lock.json" "$PEERS_DIR/express/"
  log "npm ci (express peer, in $PEERS_DIR/express)"
  (cd "$PEERS_DIR/express" && npm ci --no-audit --no-fund --loglevel=error >"$RUN/npm.log" 2>&1) ||
    { tail -20 "$RUN/npm.log" >&2; die "npm ci for the express peer failed"; }
}

# ---------------------------------------------------------------- stores

start_redis() {         # -> REDIS_PID
  local i
  port_busy "$REDIS_PORT" && die "port $REDIS_PORT is in use (set LOAD_REDIS_PORT)"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" \
    --logfile "$RUN/redis.log" --daemonize no >/dev/null 2>&1 &
  REDIS_PID=$!; STARTED+=("$REDIS_PID")
  for ((i = 0; i < 200; i++)); do [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && break; sleep 0.05; done
  [[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] || die "redis-server did not start (log: $RUN/redis.log)"
  log "redis-server $(redis-server --version | awk '{print $3}') pid $REDIS_PID on 127.0.0.1:$REDIS_PORT"
}

start_memcached() {     # -> MEMCACHED_PID
  local i user=()
  port_busy "$MEMCACHED_PORT" && die "port $MEMCACHED_PORT is in use (set LOAD_MEMCACHED_PORT)"
  [[ $(id -u) -eq 0 ]] && user=(-u root)
  memcached "${user[@]}" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 256 >"$RUN/memcached.log" 2>&1 &
  MEMCACHED_PID=$!; STARTED+=("$MEMCACHED_PID")
  for ((i = 0; i < 200; i++)); do port_busy "$MEMCACHED_PORT" && break; sleep 0.05; done
  port_busy "$MEMCACHED_PORT" || die "memcached did not start (log: $RUN/memcached.log)"
  log "memcached pid $MEMCACHED_PID on 127.0.0.1:$MEMCACHED_PORT"
}

start_postgres() {      # a throwaway cluster in RUN/pg (trust auth, loopback only) -> POSTGRES_PID
  local bin d=$RUN/pg i
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x $bin/initdb ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)"
  port_busy "$PG_PORT" && die "port $PG_PORT is in use (set LOAD_PG_PORT)"
  mkdir -p "$d"
  local pg=()
  if [[ $(id -u) -eq 0 ]]; then
    # initdb runs as postgres, which must be able to reach its data directory inside RUN (mktemp makes RUN 0700).
    chmod 711 "$RUN"; chown postgres "$d"; pg=(runuser -u postgres --)
  fi
  "${pg[@]}" "$bin/initdb" -D "$d/data" -A trust -U postgres >"$RUN/postgres-initdb.log" 2>&1 ||
    { tail -5 "$RUN/postgres-initdb.log" >&2; die "initdb failed"; }
  "${pg[@]}" "$bin/pg_ctl" -D "$d/data" -o "-p $PG_PORT -k $d -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    -l "$d/log" -w start >/dev/null 2>&1 || { tail -5 "$d/log" >&2; die "PostgreSQL did not start"; }
  POSTGRES_PID=$(head -1 "$d/data/postmaster.pid")
  STARTED+=("$POSTGRES_PID")
  STOP_HOOKS+=("${pg[*]} $bin/pg_ctl -D $d/data -m fast -w stop")
  for ((i = 0; i < 100; i++)); do port_busy "$PG_PORT" && break; sleep 0.05; done
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') pid $POSTGRES_PID on 127.0.0.1:$PG_PORT (fsync off)"
}

start_mariadb() {       # a throwaway MariaDB in RUN/maria (root with a password over TCP, loopback only) -> MARIADB_PID
  local d=$RUN/maria i user
  command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]] ||
    (cd "$ROOT" && SESSIONS_SETUP=mariadb bash tools/setup.sh >&2) || die "installing MariaDB (tools/setup.d/mariadb.sh) failed"
  port_busy "$MARIADB_PORT" && die "port $MARIADB_PORT is in use (set LOAD_MARIADB_PORT)"
  user=$(id -un)
  mkdir -p "$d"
  mariadb-install-db --no-defaults --user="$user" --datadir="$d/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$RUN/mariadb-install.log" 2>&1 || { tail -5 "$RUN/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
  # The same settings as the EF Core tests' and benchmark's server: no binary log, the redo log flushed once a second.
  "$(command -v mariadbd || echo /usr/sbin/mariadbd)" --no-defaults --user="$user" --datadir="$d/data" --port="$MARIADB_PORT" \
    --bind-address=127.0.0.1 --socket="$d/sock" --pid-file="$d/pid" --skip-log-bin --max-connections=500 \
    --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=128M --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_general_ci >"$d/log" 2>&1 &
  MARIADB_PID=$!; STARTED+=("$MARIADB_PID")
  for ((i = 0; i < 600; i++)); do port_busy "$MARIADB_PORT" && break; alive "$MARIADB_PID" || break; sleep 0.1; done
  port_busy "$MARIADB_PORT" || { tail -5 "$d/log" >&2; die "mariadbd did not start"; }
  # root@localhost answers only on the socket until it has a password; then the app's database.
  mariadb --no-defaults --socket="$d/sock" -uroot -e \
    "ALTER USER 'root'@'localhost' IDENTIFIED BY 'sessions-load'; CREATE DATABASE sessions CHARACTER SET utf8mb4;" ||
    die "setting up MariaDB's root password and database failed"
  log "MariaDB $(mariadbd --version 2>/dev/null | awk '{print $3}') pid $MARIADB_PID on 127.0.0.1:$MARIADB_PORT (no binary log, innodb_flush_log_at_trx_commit=0)"
}

start_dynalite() {      # dynalite (tools/dynalite, npm ci by tools/setup.sh) -> DYNALITE_PID
  local i cli=$ROOT/tools/dynalite/node_modules/dynalite/cli.js
  [[ -f $cli ]] || (cd "$ROOT" && SESSIONS_SETUP=dynalite bash tools/setup.sh >&2) || die "installing dynalite failed"
  port_busy "$DYNALITE_PORT" && die "port $DYNALITE_PORT is in use (set LOAD_DYNALITE_PORT)"
  node "$cli" --host 127.0.0.1 --port "$DYNALITE_PORT" >"$RUN/dynalite.log" 2>&1 &
  DYNALITE_PID=$!; STARTED+=("$DYNALITE_PID")
  for ((i = 0; i < 200; i++)); do port_busy "$DYNALITE_PORT" && break; sleep 0.05; done
  port_busy "$DYNALITE_PORT" || die "dynalite did not start (log: $RUN/dynalite.log)"
  log "dynalite pid $DYNALITE_PID on 127.0.0.1:$DYNALITE_PORT"
}

# ---------------------------------------------------------------- apps (one at a time on APP_PORT) -> APP_PID

dotnet_env=(DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ASPNETCORE_ENVIRONMENT=Production)

start_quickstart() {    # start_quickstart NAME [ENV=VALUE...]: NAME is the row label and log name
  local name=$1; shift
  port_busy "$APP_PORT" && die "port $APP_PORT is in use (set LOAD_APP_PORT)"
  mkdir -p "$RUN/home"
  # The working directory holds appsettings.json; HOME keeps Data Protection keys out of the user's profile.
  (cd "$QUICKSTART_DIR" && exec env HOME="$RUN/home" "${dotnet_env[@]}" "$@" \
    dotnet QuickStart.dll --urls "http://127.0.0.1:$APP_PORT") >"$RUN/$name.log" 2>&1 &
  APP_PID=$!; STARTED+=("$APP_PID")
  wait_http "http://127.0.0.1:$APP_PORT/plain" "$APP_PID" "$name"
}

start_builtin() {       # start_builtin NAME [ENV=VALUE...]: builtin (memory cache), or builtin-redis with BUILTIN_REDIS=host:port
  local name=${1:-builtin}; shift || true
  port_busy "$APP_PORT" && die "port $APP_PORT is in use (set LOAD_APP_PORT)"
  mkdir -p "$RUN/home"
  (cd "$BUILTIN_DIR" && exec env HOME="$RUN/home" "${dotnet_env[@]}" "$@" \
    dotnet BuiltinSession.dll --urls "http://127.0.0.1:$APP_PORT") >"$RUN/$name.log" 2>&1 &
  APP_PID=$!; STARTED+=("$APP_PID")
  wait_http "http://127.0.0.1:$APP_PORT/plain" "$APP_PID" "$name"
}

start_flask() {         # start_flask WORKERS: gunicorn, sync workers (the peers' best Flask configuration)
  port_busy "$APP_PORT" && die "port $APP_PORT is in use (set LOAD_APP_PORT)"
  REDIS_PORT=$REDIS_PORT /usr/bin/gunicorn --worker-class sync --workers "$1" --bind "127.0.0.1:$APP_PORT" \
    --chdir "$PEERS_DIR/flask" --log-level warning app:app >"$RUN/flask.log" 2>&1 &
  APP_PID=$!; STARTED+=("$APP_PID")
  wait_http "http://127.0.0.1:$APP_PORT/plain" "$APP_PID" flask
}

start_express() {       # start_express WORKERS: 1 = one node process, >1 = node:cluster
  port_busy "$APP_PORT" && die "port $APP_PORT is in use (set LOAD_APP_PORT)"
  NODE_ENV=production PORT=$APP_PORT REDIS_PORT=$REDIS_PORT EXPRESS_WORKERS=$1 \
    node "$PEERS_DIR/express/server.js" >"$RUN/express.log" 2>&1 &
  APP_PID=$!; STARTED+=("$APP_PID")
  wait_http "http://127.0.0.1:$APP_PORT/plain" "$APP_PID" express
}

stop_app() {
  stop_pid "$APP_PID" app
  forget_pid "$APP_PID"
  APP_PID=""
}
