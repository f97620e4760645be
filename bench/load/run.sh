#!/usr/bin/env bash
# bench/load/run.sh: the end-to-end load harness (issue 8). `./build.sh --target=Load` runs it; see README.md here.
#
# Installs what is missing, builds samples/QuickStart and bench/BuiltinSession in Release, starts the stores on loopback
# (redis-server, memcached, PostgreSQL in a temp cluster, MariaDB in a temp data directory, dynalite), then runs LOAD_RUNS rounds; in each round, for each
# app in turn: starts it, creates K sessions (GET /hit without a cookie, K times), runs wrk on each endpoint once as a
# warm-up, then once measured, with a Lua script that rotates through the K cookies, and stops it. Rounds rather than
# back-to-back repeats, so that the medians of apps that are compared span the same stretch of a drifting, shared
# machine. Measures req/s, p50, p99 and the CPU time per request of the app's process (and of the store's). Writes
# results/<timestamp>/table.md and LATEST.md, and prints the table.
# Everything it starts is stopped by PID when it exits, fails or is interrupted.
#
# Environment (defaults in brackets; LOAD_QUICK=1 changes the defaults marked q:):
#   LOAD_QUICK [0]        1 = a development run: shorter runs, one round, fewer apps
#   LOAD_RUNS [3, q:1]    rounds, i.e. measured runs per row; the table shows their median
#   LOAD_DURATION [10s, q:3s]   LOAD_WARMUP [10s, q:2s]   LOAD_THREADS [2]   LOAD_CONNECTIONS [64]   LOAD_SESSIONS [1000]
#   LOAD_APPS             rows to run, in order [builtin builtin-redis no-middleware memory redis memcached postgres mariadb
#                         filesystem sqlite dynamodb flask-sync-w4 express-cluster2 express; q: builtin no-middleware memory redis]
#                         (dynamodb only when samples/QuickStart knows it)
#   LOAD_ENDPOINTS [hit read plain]   endpoints for the backends other than memory (which also runs /plain without a cookie)
#   LOAD_PEER_ENDPOINTS [hit]         endpoints for flask and express
#   LOAD_REDIS_PORT [6491]  LOAD_MEMCACHED_PORT [11491]  LOAD_PG_PORT [5491]  LOAD_MARIADB_PORT [3491]  LOAD_DYNALITE_PORT [8491]  LOAD_APP_PORT [18491]
#   LOAD_SKIP_INSTALL [0]  LOAD_SKIP_BUILD [0]  LOAD_KEEP_TMP [0]  PEERS_SRC [<repo>/../shared/peers]
#   LOAD_APP_ENV          extra ENV=VALUE words for every QuickStart process (e.g. DOTNET_gcServer=0)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib/procs.sh
source "$HERE/lib/procs.sh"
# shellcheck source=lib/servers.sh
source "$HERE/lib/servers.sh"

QUICK=${LOAD_QUICK:-0}
if [[ $QUICK == 1 ]]; then q=1; else q=0; fi
RUNS=${LOAD_RUNS:-$([[ $q == 1 ]] && echo 1 || echo 3)}
DURATION=${LOAD_DURATION:-$([[ $q == 1 ]] && echo 3s || echo 10s)}
WARMUP=${LOAD_WARMUP:-$([[ $q == 1 ]] && echo 2s || echo 10s)}
THREADS=${LOAD_THREADS:-2}
CONNS=${LOAD_CONNECTIONS:-64}
K=${LOAD_SESSIONS:-1000}
WARMUPS=4           # warm-up runs per app and round (of WARMUP each), whatever its number of endpoints
ENDPOINTS=${LOAD_ENDPOINTS:-"hit read plain"}
PEER_ENDPOINTS=${LOAD_PEER_ENDPOINTS:-"hit"}
REDIS_PORT=${LOAD_REDIS_PORT:-6491}
MEMCACHED_PORT=${LOAD_MEMCACHED_PORT:-11491}
PG_PORT=${LOAD_PG_PORT:-5491}
MARIADB_PORT=${LOAD_MARIADB_PORT:-3491}
DYNALITE_PORT=${LOAD_DYNALITE_PORT:-8491}
APP_PORT=${LOAD_APP_PORT:-18491}
PEERS_SRC=${PEERS_SRC:-$ROOT/../shared/peers}
read -r -a APP_ENV <<<"${LOAD_APP_ENV:-}"

if [[ -n ${LOAD_APPS:-} ]]; then
  APPS=$LOAD_APPS
elif [[ $q == 1 ]]; then
  APPS="builtin no-middleware memory redis"
else
  APPS="builtin builtin-redis no-middleware memory redis memcached postgres mariadb filesystem sqlite dynamodb flask-sync-w4 express-cluster2 express"
fi
# A backend QuickStart does not know yet (dynamodb before its case lands in Backends.cs) is left out, not an error.
if [[ " $APPS " == *" dynamodb "* ]] && ! grep -q '"dynamodb"' "$ROOT/samples/QuickStart/Backends.cs"; then
  APPS=$(echo " $APPS " | sed 's/ dynamodb / /')
fi

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$HERE/results/$STAMP
RUN=$(mktemp -d /tmp/sessions-load.XXXXXX)
ART=${LOAD_ARTIFACTS:-$HERE/.artifacts}
mkdir -p "$OUT/raw"
trap cleanup EXIT
trap 'exit 130' INT TERM
exec 2> >(tee -a "$OUT/run.log" >&2)

needs() { [[ " $APPS " == *" $1 "* ]]; }
uses_redis() { needs redis || needs builtin-redis || needs flask-sync-w4 || needs express || needs express-cluster2; }

# ---------------------------------------------------------------- measuring

machine_cpu() {     # steal% and idle% (incl. iowait) between two /proc/stat "cpu" lines
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y); t = 0
    for (i = 2; i <= 9; i++) t += y[i] - x[i]
    if (t <= 0) t = 1
    printf "\"steal_pct\":%.1f,\"idle_pct\":%.1f", 100 * (y[9] - x[9]) / t, 100 * (y[5] + y[6] - x[5] - x[6]) / t }'
}

wrk_run() {         # wrk_run DURATION OUTFILE URL COOKIEFILE NOCOOKIE [--latency]
  local d=$1 file=$2 url=$3 cookies=$4 nc=$5; shift 5
  COOKIE_FILE=$cookies NO_COOKIE=$nc THREADS=$THREADS \
    wrk -t"$THREADS" -c"$CONNS" -d"$d" "$@" -s "$HERE/lib/cookies.lua" "$url" >"$file" 2>&1 ||
    die "wrk failed: $file"
}

target() {          # target ENDPOINT: sets path and nc (1 = no cookie)
  case $1 in
    hit | read | plain) path=/$1; nc=0 ;;
    plain-nocookie) path=/plain; nc=1 ;;
    *) die "unknown endpoint $1" ;;
  esac
}

warm_up() {         # warm_up APP ENDPOINT COOKIEFILE ROUND: load that is not measured (JIT tiering, pools, connections)
  local path nc
  target "$2"
  wrk_run "$WARMUP" "$OUT/raw/$1.$2.warmup.$4.txt" "http://127.0.0.1:$APP_PORT$path" "$3" "$nc"
}

measure() {         # measure APP ENDPOINT COOKIEFILE STORE STORE_PID ROUND
  local app=$1 ep=$2 cookies=$3 store=$4 spid=$5 i=$6 path nc raw s0 s1 a0 a1 t0 t1 json
  target "$ep"
  raw=$OUT/raw/$app.$ep
  s0=$(head -1 /proc/stat); a0=$(tree_ticks "$APP_PID"); t0=$(tree_ticks "$spid")
  # wrk's own CPU time too: when it nears one core per thread, the load generator, not the app, sets the req/s.
  local TIMEFORMAT='%U %S' wrk_cpu
  { time wrk_run "$DURATION" "$raw.$i.txt" "http://127.0.0.1:$APP_PORT$path" "$cookies" "$nc" --latency; } 2>"$raw.$i.time"
  s1=$(head -1 /proc/stat); a1=$(tree_ticks "$APP_PID"); t1=$(tree_ticks "$spid")
  wrk_cpu=$(awk '{printf "%.2f", $1 + $2}' "$raw.$i.time")
  json=$(sed -n 's/^LOADJSON {//p' "$raw.$i.txt")
  [[ -n $json ]] || die "no LOADJSON line in $raw.$i.txt"
  echo "{\"app\":\"$app\",\"endpoint\":\"$ep\",\"run\":$i,\"store\":\"$store\",\"srv_ticks\":$((a1 - a0)),\"store_ticks\":$((t1 - t0)),\"clk_tck\":$(getconf CLK_TCK),\"wrk_cpu_s\":${wrk_cpu:-0},$(machine_cpu "$s0" "$s1"),$json" >>"$OUT/results.jsonl"
  log "  $app $ep (round $i): $(sed -n 's/^LOADJSON //p' "$raw.$i.txt" | $PY -c 'import json,sys; r=json.load(sys.stdin); print("%.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %d" % (r["rps"], r["p50_us"]/1000, r["p99_us"]/1000, r["errors"]+r["non2xx"]))')"
}

# ---------------------------------------------------------------- one app

run_app() {         # run_app NAME ROUND: start it, create the sessions, measure its endpoints once, stop it
  local app=$1 round=$2 cookie=session store="" spid="" eps=$ENDPOINTS cookies=$RUN/$1.cookies precreate=1 ep first
  local qs=("${APP_ENV[@]}")
  log "== $app (round $round of $RUNS)"
  case $app in
    builtin) cookie=.AspNetCore.Session; eps="hit read plain plain-nocookie"; start_builtin builtin ;;
    builtin-redis) store=redis; spid=$REDIS_PID; cookie=.AspNetCore.Session; redis-cli -p "$REDIS_PORT" flushall >/dev/null
      start_builtin "$app" BUILTIN_REDIS="127.0.0.1:$REDIS_PORT" ;;
    no-middleware) eps=plain-nocookie; precreate=0
      start_quickstart "$app" "${qs[@]}" QuickStart__UseSessions=false Sessions__Backend=memory ;;
    memory) eps="hit read plain plain-nocookie"; start_quickstart "$app" "${qs[@]}" Sessions__Backend=memory ;;
    redis) store=redis; spid=$REDIS_PID; redis-cli -p "$REDIS_PORT" flushall >/dev/null
      start_quickstart "$app" "${qs[@]}" Sessions__Backend=redis Sessions__Redis__Configuration="127.0.0.1:$REDIS_PORT" ;;
    memcached) store=memcached; spid=$MEMCACHED_PID
      start_quickstart "$app" "${qs[@]}" Sessions__Backend=memcached Sessions__Memcached__Servers="127.0.0.1:$MEMCACHED_PORT" ;;
    postgres) store=postgres; spid=$POSTGRES_PID
      start_quickstart "$app" "${qs[@]}" Sessions__Backend=efcore Sessions__EFCore__Provider=PostgreSQL \
        Sessions__EFCore__ConnectionString="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres" ;;
    mariadb) store=mariadb; spid=$MARIADB_PID
      start_quickstart "$app" "${qs[@]}" Sessions__Backend=efcore Sessions__EFCore__Provider=MySql \
        Sessions__EFCore__ConnectionString="Server=127.0.0.1;Port=$MARIADB_PORT;User=root;Password=sessions-load;Database=sessions" ;;
    filesystem) start_quickstart "$app" "${qs[@]}" Sessions__Backend=filesystem Sessions__FileSystem__Directory="$RUN/filesystem" ;;
    sqlite) start_quickstart "$app" "${qs[@]}" Sessions__Backend=efcore Sessions__EFCore__Provider=Sqlite Sessions__EFCore__ConnectionString="Data Source=$RUN/sessions.db" ;;
    dynamodb) store=dynalite; spid=$DYNALITE_PID
      start_quickstart "$app" "${qs[@]}" Sessions__Backend=dynamodb Sessions__DynamoDb__ServiceUrl="http://127.0.0.1:$DYNALITE_PORT" \
        Sessions__DynamoDb__CreateTable=true ;;
    flask-sync-w4) store=redis; spid=$REDIS_PID; eps=$PEER_ENDPOINTS; redis-cli -p "$REDIS_PORT" flushall >/dev/null; start_flask 4 ;;
    express | express-cluster2) store=redis; spid=$REDIS_PID; eps=$PEER_ENDPOINTS; cookie=connect.sid
      redis-cli -p "$REDIS_PORT" flushall >/dev/null; start_express "$([[ $app == express ]] && echo 1 || echo 2)" ;;
    *) die "unknown app '$app' in LOAD_APPS" ;;
  esac
  log "  $app pid $APP_PID on 127.0.0.1:$APP_PORT"
  if [[ $precreate == 1 ]]; then
    $PY "$HERE/lib/precreate.py" "http://127.0.0.1:$APP_PORT" "$K" "$cookies" "$cookie" || die "creating $K sessions on $app failed"
    [[ $store == redis ]] && log "  redis dbsize after creating $K sessions: $(redis-cli -p "$REDIS_PORT" dbsize)"
  else
    : >"$cookies"
  fi
  # Every endpoint is warmed up before any is measured, so that each measured run finds all the request paths compiled
  # at their final tier (a run right after start-up also measures the JIT). Every app gets the same number of warm-ups
  # (WARMUPS, cycling through its endpoints), so that an app with one endpoint is not measured less warm than one with four.
  local w=0
  while ((w < WARMUPS)); do
    for ep in $eps; do
      ((w < WARMUPS)) || break
      warm_up "$app" "$ep" "$cookies" "$round"
      w=$((w + 1))
    done
  done
  for ep in $eps; do measure "$app" "$ep" "$cookies" "$store" "$spid" "$round"; done
  if [[ $precreate == 1 ]]; then
    # wrk draws one request before its connections start, so the first cookie is the one used least: show the second.
    first=$(sed -n 2p "$cookies")
    log "  sanity: the second session's n after the runs is $(curl -s --max-time 5 -H "Cookie: $first" "http://127.0.0.1:$APP_PORT/read") (1 = never hit by wrk)"
  fi
  stop_app
}

# ---------------------------------------------------------------- main

log "load harness: apps [$APPS], $RUNS round(s), $WARMUPS warm-ups of $WARMUP then one $DURATION run per endpoint, wrk -t$THREADS -c$CONNS, $K sessions"
[[ ${LOAD_SKIP_INSTALL:-0} == 1 ]] || install_missing
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
[[ ${LOAD_SKIP_BUILD:-0} == 1 ]] && { QUICKSTART_DIR=$ART/bin/QuickStart/release; BUILTIN_DIR=$ART/bin/BuiltinSession/release; } || build_apps
if needs flask-sync-w4 || needs express || needs express-cluster2; then copy_peers; fi

{
  echo "date: $(date -Is)"
  echo "machine: $(uname -srm), $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency, $K session cookies in rotation, after $WARMUPS warm-ups of $WARMUP (cycling through the app's endpoints); median of $RUNS round(s), each app restarted every round"
  echo "software: .NET $(dotnet --list-runtimes | awk '/AspNetCore.App/{v=$2} END{print v}'), redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null), node $(node --version 2>/dev/null)"
  echo "server CPU = user+sys of the app process (and its direct children: gunicorn and cluster workers) during the measured run ÷ requests; store CPU likewise for the store's process"
} >"$OUT/meta.txt"

uses_redis && start_redis
needs memcached && start_memcached
needs postgres && start_postgres
needs mariadb && start_mariadb
needs dynamodb && start_dynalite
if uses_redis; then
  log "redis-benchmark -t get,set -c 64"
  redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -t get,set -c 64 -n "$([[ $q == 1 ]] && echo 50000 || echo 200000)" -q \
    >"$OUT/redis-benchmark.txt" 2>&1 || die "redis-benchmark failed"
  log "  $(tr '\r' '\n' <"$OUT/redis-benchmark.txt" | grep 'requests per second' | tr '\n' ' ')"
fi

for ((round = 1; round <= RUNS; round++)); do
  for app in $APPS; do run_app "$app" "$round"; done
done

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
$PY "$HERE/lib/table.py" "$OUT" || die "table.py failed"
cp "$OUT/table.md" "$HERE/LATEST.md"
log "results: $OUT/table.md (copied to bench/load/LATEST.md)"
