#!/usr/bin/env bash
# bench/faults/run.sh: fault injection under load (issue 14). For each store in turn (redis, memcached, postgres) it
# starts the store and samples/QuickStart on loopback, puts the app under load (load.py: CLIENTS keep-alive clients, each
# with its own session, cycling /hit, /read and /plain), and meanwhile freezes the store (SIGSTOP, then SIGCONT), kills it
# (SIGKILL) and starts it again; for PostgreSQL it also kills one server process, which sends the whole server through
# crash recovery. Then it prints, per second and route, the count of each status (0 = no answer or a broken connection)
# and the worst latency, and a summary: /plain must never fail, no request may wait much longer than the operation
# timeout, and /hit must succeed again within about a second of the store's return.
# redis-cluster (issue 21, fault 5): a Redis Cluster of 3 primaries and 3 replicas (cluster-node-timeout 2000 ms); the
# app gets CLUSTER_SESSIONS sessions, CLUSTER_CLIENTS clients read them round-robin (/read), one primary is SIGKILLed at
# FAILOVER_AT and its replica takes over. The table splits the reads by where the session lives (which primary held its
# key before the kill): sessions on the healthy primaries must keep answering 200; those on the killed one answer 503
# until the replica is promoted. Afterwards every session is read back and written once.
#
#   bash bench/faults/run.sh                      # all four, about 2.5 minutes plus the build
#   FAULTS_STORES="memcached" bash bench/faults/run.sh
#
# Environment: FAULTS_STORES [redis memcached postgres redis-cluster]  FAULTS_CLIENTS [32]  FAULTS_SKIP_BUILD [0]
#   FAULTS_FREEZE_AT [5] FAULTS_FREEZE_FOR [6] FAULTS_KILL_AT [17] FAULTS_KILL_FOR [8] FAULTS_CRASH_AT [30] FAULTS_SECONDS [36]
#   FAULTS_CLUSTER_SESSIONS [300] FAULTS_CLUSTER_CLIENTS [4] FAULTS_FAILOVER_AT [5] FAULTS_CLUSTER_SECONDS [20]
#   FAULTS_CLUSTER_FULL_COVERAGE [yes]: Redis's cluster-require-full-coverage; with yes (Redis's default) every primary
#   answers CLUSTERDOWN while the dead primary's slots are uncovered (from its FAIL mark to its replica's promotion)
#   FAULTS_REDIS_PORT [6591] FAULTS_MEMCACHED_PORT [11591] FAULTS_PG_PORT [5591] FAULTS_APP_PORT [18591]
#   FAULTS_CLUSTER_PORT [6601: six ports from there, and their bus ports 10000 higher]
# Writes results/<timestamp>/ (table.md, per-store requests and app logs). Everything it starts is stopped by PID
# (bench/load/lib/procs.sh); nothing is stopped by name.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../load/lib/procs.sh
source "$ROOT/bench/load/lib/procs.sh"
# shellcheck source=../load/lib/servers.sh
source "$ROOT/bench/load/lib/servers.sh"

STORES=${FAULTS_STORES:-"redis memcached postgres redis-cluster"}
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
CLUSTER_PORT=${FAULTS_CLUSTER_PORT:-6601}
CLUSTER_SESSIONS=${FAULTS_CLUSTER_SESSIONS:-300}
CLUSTER_CLIENTS=${FAULTS_CLUSTER_CLIENTS:-4}
FAILOVER_AT=${FAULTS_FAILOVER_AT:-5}
FULL_COVERAGE=${FAULTS_CLUSTER_FULL_COVERAGE:-yes}   # Redis's cluster-require-full-coverage
CLUSTER_SECONDS=${FAULTS_CLUSTER_SECONDS:-20}
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

# A Redis Cluster of 3 primaries and 3 replicas on CLUSTER_PORT.. CLUSTER_PORT+5 -> CLUSTER_PID[port], CLUSTER_NODES.
start_cluster() {
  local port i n ok
  declare -gA CLUSTER_PID=()
  CLUSTER_NODES=""
  for ((port = CLUSTER_PORT; port < CLUSTER_PORT + 6; port++)); do
    { port_busy "$port" || port_busy $((port + 10000)); } && die "port $port or $((port + 10000)) is in use (set FAULTS_CLUSTER_PORT)"
    mkdir -p "$RUN/cluster/$port"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN/cluster/$port" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --cluster-require-full-coverage "$FULL_COVERAGE" \
      --logfile "$RUN/cluster/$port/log" --daemonize no >/dev/null 2>&1 &
    CLUSTER_PID[$port]=$!; STARTED+=("$!")
    CLUSTER_NODES+="${CLUSTER_NODES:+ }127.0.0.1:$port"
  done
  for port in "${!CLUSTER_PID[@]}"; do
    for ((i = 0; i < 200; i++)); do [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break; sleep 0.05; done
  done
  # shellcheck disable=SC2086
  redis-cli --cluster create $CLUSTER_NODES --cluster-replicas 1 --cluster-yes >"$RUN/cluster/create.log" 2>&1 ||
    { tail -20 "$RUN/cluster/create.log" >&2; die "redis-cli --cluster create failed"; }
  # Up when every node says cluster_state:ok and each replica's link to its primary is up (it can then be promoted).
  for ((i = 0; i < 600; i++)); do
    ok=0
    for port in "${!CLUSTER_PID[@]}"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && ((ok++))
      redis-cli -p "$port" info replication 2>/dev/null | grep -q 'master_link_status:up' && ((ok++))
    done
    ((ok == 9)) && break
    sleep 0.1
  done
  ((ok == 9)) || die "the Redis Cluster did not come up within 60 s (logs: $RUN/cluster/*/log)"
  n=$(redis-cli -p "$CLUSTER_PORT" cluster nodes | grep -c master)
  log "Redis Cluster $(redis-server --version | awk '{print $3}') on $CLUSTER_NODES: $n primaries, pids ${CLUSTER_PID[*]}"
}

# Logs the cluster's state as a survivor sees it (cluster_state:fail/ok) and the promotion of the victim's replica.
watch_cluster() {   # watch_cluster SURVIVOR_PORT REPLICA_PORT
  local state last="" role promoted=0
  while :; do
    state=$(redis-cli -p "$1" cluster info 2>/dev/null | grep -o 'cluster_state:[a-z]*' | tr -d '\r')
    [[ -n $state && $state != "$last" ]] && { [[ -n $last ]] && event "$state"; last=$state; }
    if ((promoted == 0)); then
      role=$(redis-cli -p "$2" role 2>/dev/null | head -1)
      [[ $role == master ]] && { event promoted; promoted=1; }
    fi
    sleep 0.1
  done
}

run_cluster() {
  STORE=redis-cluster
  start_cluster
  start_quickstart "$STORE" Sessions__Backend=redis "Sessions__Redis__Configuration=${CLUSTER_NODES// /,}"
  local i; for ((i = 0; i < 20; i++)); do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$APP_PORT/hit"; done
  python3 "$HERE/load.py" --create "http://127.0.0.1:$APP_PORT" "$CLUSTER_SESSIONS" "$RUN/sessions.txt" || die "creating the sessions failed"
  # Where each key lives before the fault; the victim is the lowest-port primary, its replica the node that follows it.
  local nodes victim victim_id replica survivor port
  nodes=$(redis-cli -p "$CLUSTER_PORT" cluster nodes)
  victim=$(awk '$3 ~ /master/ { split($2, a, "[:@]"); print a[2] }' <<<"$nodes" | sort -n | head -1)
  victim_id=$(awk -v p="127.0.0.1:$victim@" 'index($2, p) == 1 { print $1 }' <<<"$nodes")
  replica=$(awk -v id="$victim_id" '$4 == id { split($2, a, "[:@]"); print a[2] }' <<<"$nodes")
  survivor=$(awk -v v="$victim" '$3 ~ /master/ { split($2, a, "[:@]"); if (a[2] != v) print a[2] }' <<<"$nodes" | head -1)
  : >"$RUN/keys.tsv"
  for port in $(awk '$3 ~ /master/ { split($2, a, "[:@]"); print a[2] }' <<<"$nodes"); do
    redis-cli -p "$port" --scan --pattern 'session:*' | sed "s/^/127.0.0.1:$port\t/" >>"$RUN/keys.tsv"
  done
  log "victim: primary 127.0.0.1:$victim (pid ${CLUSTER_PID[$victim]}), its replica 127.0.0.1:$replica"
  local app_log=$RUN/$STORE.log
  local log_bytes_before; log_bytes_before=$(stat -c %s "$app_log")
  : >"$RUN/$STORE.events"
  T0=$(date +%s.%N)
  python3 "$HERE/load.py" "http://127.0.0.1:$APP_PORT" "$CLUSTER_SECONDS" "$CLUSTER_CLIENTS" "$RUN/$STORE.jsonl" "$RUN/sessions.txt" &
  local load_pid=$!; STARTED+=("$load_pid")
  watch_cluster "$survivor" "$replica" &
  local watch_pid=$!; STARTED+=("$watch_pid")
  at "$FAILOVER_AT"; kill -KILL "${CLUSTER_PID[$victim]}"; event kill
  wait "${CLUSTER_PID[$victim]}" 2>/dev/null; forget_pid "${CLUSTER_PID[$victim]}"
  wait "$load_pid"; forget_pid "$load_pid"
  stop_pid "$watch_pid" watch; forget_pid "$watch_pid"
  local check; check=$(python3 "$HERE/load.py" --check "http://127.0.0.1:$APP_PORT" "$RUN/sessions.txt")
  local log_bytes=$(( $(stat -c %s "$app_log") - log_bytes_before ))
  stop_app
  for port in "${!CLUSTER_PID[@]}"; do
    [[ $port == "$victim" ]] || { stop_pid "${CLUSTER_PID[$port]}" "redis $port"; forget_pid "${CLUSTER_PID[$port]}"; }
  done
  cp "$RUN/$STORE.jsonl" "$RUN/$STORE.events" "$RUN/keys.tsv" "$RUN/sessions.txt" "$OUT/"
  cp "$app_log" "$OUT/$STORE.app.log"
  {
    echo
    echo "$CLUSTER_SESSIONS sessions read round-robin (/read) by $CLUSTER_CLIENTS clients; the primary 127.0.0.1:$victim SIGKILLed at ${FAILOVER_AT} s (cluster-node-timeout 2000 ms, cluster-require-full-coverage $FULL_COVERAGE). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  } | tee -a "$OUT/table.md"
  python3 "$HERE/table.py" "$STORE" "$RUN/$STORE.jsonl" "$RUN/$STORE.events" "$TIMEOUT_MS" "$RUN/sessions.txt" "$RUN/keys.tsv" "127.0.0.1:$victim" | tee -a "$OUT/table.md"
  echo "- after the run: $check" | tee -a "$OUT/table.md"
  echo "- app log written during the run: $log_bytes bytes" | tee -a "$OUT/table.md"
}

app_env() {
  case $1 in
    redis) echo "Sessions__Backend=redis Sessions__Redis__Configuration=127.0.0.1:$REDIS_PORT" ;;
    memcached) echo "Sessions__Backend=memcached Sessions__Memcached__Servers=127.0.0.1:$MEMCACHED_PORT" ;;
    postgres) echo "Sessions__Backend=efcore Sessions__EFCore__Provider=PostgreSQL Sessions__EFCore__ConnectionString=Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres" ;;
  esac
}

run_store() {
  [[ $1 == redis-cluster ]] && { run_cluster; return; }
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
  [[ ${STORES//redis-cluster/} == *[a-z]* ]] &&
    echo "$CLIENTS clients cycling /hit, /read, /plain; freeze (SIGSTOP) at ${FREEZE_AT} s for ${FREEZE_FOR} s, kill (SIGKILL) at ${KILL_AT} s, restart ${KILL_FOR} s later; postgres: one server process killed at ${CRASH_AT} s (crash recovery)."
  echo "Cells: status:count (worst latency). Status 0 = no answer within 15 s or a broken connection."
} >"$OUT/table.md"
for store in $STORES; do run_store "$store"; done
log "results: $OUT/table.md"
