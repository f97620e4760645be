#!/usr/bin/env bash
# bench/faults/run.sh: fault injection under load (issue 14). For each store in turn (redis, memcached, postgres) it
# starts the store and samples/QuickStart on loopback, puts the app under load (load.py: CLIENTS keep-alive clients, each
# with its own session, cycling /hit, /read and /plain), and meanwhile freezes the store (SIGSTOP, then SIGCONT), kills it
# (SIGKILL) and starts it again; for PostgreSQL it also kills one server process, which sends the whole server through
# crash recovery. Then it prints, per second and route, the count of each status (0 = no answer or a broken connection)
# and the worst latency, and a summary: /plain must never fail, no request may wait much longer than the operation
# timeout, and /hit must succeed again within about a second of the store's return.
#
#   bash bench/faults/run.sh                      # all three stores, about 2 minutes plus the build
#   FAULTS_STORES="memcached" bash bench/faults/run.sh
#
# Environment: FAULTS_STORES [redis memcached postgres]  FAULTS_CLIENTS [32]  FAULTS_SKIP_BUILD [0]
#   FAULTS_FREEZE_AT [5] FAULTS_FREEZE_FOR [6] FAULTS_KILL_AT [17] FAULTS_KILL_FOR [8] FAULTS_CRASH_AT [30] FAULTS_SECONDS [36]
#   FAULTS_REDIS_PORT [6591] FAULTS_MEMCACHED_PORT [11591] FAULTS_PG_PORT [5591] FAULTS_APP_PORT [18591]
# Writes results/<timestamp>/ (table.md, per-store requests and app logs). Everything it starts is stopped by PID
# (bench/load/lib/procs.sh); nothing is stopped by name.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../load/lib/procs.sh
source "$ROOT/bench/load/lib/procs.sh"
# shellcheck source=../load/lib/servers.sh
source "$ROOT/bench/load/lib/servers.sh"

STORES=${FAULTS_STORES:-"redis memcached postgres"}
CLIENTS=${FAULTS_CLIENTS:-32}
FREEZE_AT=${FAULTS_FREEZE_AT:-5}
FREEZE_FOR=${FAULTS_FREEZE_FOR:-6}
KILL_AT=${FAULTS_KILL_AT:-17}
KILL_FOR=${FAULTS_KILL_FOR:-8}
CRASH_AT=${FAULTS_CRASH_AT:-30}
SECONDS_TOTAL=${FAULTS_SECONDS:-36}
REDIS_PORT=${FAULTS_REDIS_PORT:-6591}
MEMCACHED_PORT=${FAULTS_MEMCACHED_PORT:-11591}
PG_PORT=${FAULTS_PG_PORT:-5591}
APP_PORT=${FAULTS_APP_PORT:-18591}
TIMEOUT_MS=1000     # Sessions:OperationTimeout's default, which the app runs with

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$HERE/results/$STAMP
RUN=$(mktemp -d /tmp/sessions-faults.XXXXXX)
ART=${FAULTS_ARTIFACTS:-$HERE/.artifacts}
mkdir -p "$OUT"
trap 'cleanup_faults' EXIT
trap 'exit 130' INT TERM

cleanup_faults() {
  # A frozen store must be thawed before it can be stopped.
  local pid
  for pid in "${STARTED[@]}"; do kill -CONT "$pid" 2>/dev/null; for k in $(pgrep -P "$pid" 2>/dev/null); do kill -CONT "$k" 2>/dev/null; done; done
  [[ -f $OUT/table.md ]] || touch "$OUT/table.md"
  cleanup
}

build_quickstart() {
  log "dotnet build -c Release samples/QuickStart"
  (cd "$ROOT" && dotnet build samples/QuickStart/QuickStart.csproj -c Release --artifacts-path "$ART" --nologo -v q >"$RUN/build.log" 2>&1) ||
    { tail -40 "$RUN/build.log" >&2; die "dotnet build failed"; }
  QUICKSTART_DIR=$ART/bin/QuickStart/release
  [[ -f $QUICKSTART_DIR/QuickStart.dll ]] || die "QuickStart.dll not found under $ART/bin"
}

T0=0
event() { echo -e "$(date +%s.%N)\t$1" >>"$RUN/$STORE.events"; log "$STORE: $1"; }
at() { local wait; wait=$(awk -v a="$T0" -v t="$1" -v b="$(date +%s.%N)" 'BEGIN { w = a + t - b; print (w > 0 ? w : 0) }'); sleep "$wait"; }

# The store's processes: the server and, for PostgreSQL, its children (every backend must stop to freeze it).
store_pids() { echo "$1 $(pgrep -P "$1" 2>/dev/null | tr '\n' ' ')"; }
signal_store() { local p; for p in $(store_pids "$2"); do kill "-$1" "$p" 2>/dev/null; done; }

start_store() {
  case $1 in
    redis) start_redis; STORE_PID=$REDIS_PID ;;
    memcached) start_memcached; STORE_PID=$MEMCACHED_PID ;;
    postgres)
      if [[ -n ${PG_DATA:-} ]]; then
        # Restart on the same data: PostgreSQL runs crash recovery first.
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -o "-p $PG_PORT -k $RUN/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
          -l "$RUN/pg/log" start >/dev/null 2>&1 || die "PostgreSQL did not restart"
        local i; for ((i = 0; i < 100; i++)); do [[ -f $PG_DATA/postmaster.pid ]] && break; sleep 0.05; done
        POSTGRES_PID=$(head -1 "$PG_DATA/postmaster.pid"); STARTED+=("$POSTGRES_PID")
      else
        start_postgres
        PG_DATA=$RUN/pg/data
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
        PG_AS=(); [[ $(id -u) -eq 0 ]] && PG_AS=(runuser -u postgres --)
      fi
      STORE_PID=$POSTGRES_PID ;;
  esac
}

app_env() {
  case $1 in
    redis) echo "Sessions__Backend=redis Sessions__Redis__Configuration=127.0.0.1:$REDIS_PORT" ;;
    memcached) echo "Sessions__Backend=memcached Sessions__Memcached__Servers=127.0.0.1:$MEMCACHED_PORT" ;;
    postgres) echo "Sessions__Backend=efcore Sessions__EFCore__Provider=PostgreSQL Sessions__EFCore__ConnectionString=Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres" ;;
  esac
}

run_store() {
  STORE=$1
  PG_DATA=""
  start_store "$STORE"
  local env_words; read -r -a env_words <<<"$(app_env "$STORE")"
  start_quickstart "$STORE" "${env_words[@]}"
  # Warm-up: the first calls open connections and compile code; on a busy machine they can exceed the operation timeout.
  local i; for ((i = 0; i < 20; i++)); do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$APP_PORT/hit"; done
  local app_log=$RUN/$STORE.log
  local log_bytes_before; log_bytes_before=$(stat -c %s "$app_log")
  : >"$RUN/$STORE.events"
  T0=$(date +%s.%N)
  python3 "$HERE/load.py" "http://127.0.0.1:$APP_PORT" "$SECONDS_TOTAL" "$CLIENTS" "$RUN/$STORE.jsonl" &
  local load_pid=$!; STARTED+=("$load_pid")

  at "$FREEZE_AT"; signal_store STOP "$STORE_PID"; event freeze
  at $((FREEZE_AT + FREEZE_FOR)); signal_store CONT "$STORE_PID"; event thaw
  at "$KILL_AT"
  if [[ $STORE == postgres ]]; then
    local pids; pids=$(store_pids "$STORE_PID")
    kill -KILL $pids 2>/dev/null; event kill
  else
    kill -KILL "$STORE_PID" 2>/dev/null; event kill
  fi
  wait "$STORE_PID" 2>/dev/null; forget_pid "$STORE_PID"
  at $((KILL_AT + KILL_FOR))
  [[ $STORE == postgres ]] && rm -f "$PG_DATA/postmaster.pid"
  start_store "$STORE"; event restart
  if [[ $STORE == postgres ]]; then
    # One server process killed: the postmaster ends every session and goes through crash recovery.
    at "$CRASH_AT"
    local victim; victim=$(pgrep -P "$STORE_PID" | head -1)
    [[ -n $victim ]] && { kill -KILL "$victim"; event crash; }
  fi

  wait "$load_pid"; forget_pid "$load_pid"
  local log_bytes=$(( $(stat -c %s "$app_log") - log_bytes_before ))
  stop_app
  if [[ $STORE == postgres ]]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1
  fi
  stop_pid "$STORE_PID" "$STORE"; forget_pid "$STORE_PID"
  cp "$RUN/$STORE.jsonl" "$RUN/$STORE.events" "$OUT/"
  cp "$app_log" "$OUT/$STORE.app.log"
  python3 "$HERE/table.py" "$STORE" "$RUN/$STORE.jsonl" "$RUN/$STORE.events" "$TIMEOUT_MS" | tee -a "$OUT/table.md"
  echo "- app log written during the run: $log_bytes bytes" | tee -a "$OUT/table.md"
}

[[ ${FAULTS_SKIP_BUILD:-0} == 1 ]] && QUICKSTART_DIR=$ART/bin/QuickStart/release || build_quickstart
{
  echo "# Fault injection, $(date -u +%FT%TZ)"
  echo
  echo "$CLIENTS clients cycling /hit, /read, /plain; freeze (SIGSTOP) at ${FREEZE_AT} s for ${FREEZE_FOR} s, kill (SIGKILL) at ${KILL_AT} s, restart ${KILL_FOR} s later; postgres: one server process killed at ${CRASH_AT} s (crash recovery)."
  echo "Cells: status:count (worst latency). Status 0 = no answer within 15 s or a broken connection."
} >"$OUT/table.md"
for store in $STORES; do run_store "$store"; done
log "results: $OUT/table.md"
