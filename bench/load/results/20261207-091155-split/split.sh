#!/usr/bin/env bash
# Issue 23 (package split and engine refactor): old (ed35bfc, before) vs new (after) QuickStart on the memory and Redis
# backends, same run, rounds interleaving the two builds.
# Same method as bench/load/run.sh: 1,000 sessions, 4 warm-ups of WARMUP cycling the endpoints, then one measured
# wrk -t2 -c64 -dDURATION --latency per endpoint with lib/cookies.lua; median of RUNS rounds. Then the frozen-store tests.
set -uo pipefail
MAIN=/work/main
HERE=$MAIN/bench/load
source "$HERE/lib/procs.sh"
PY=/usr/bin/python3
RUNS=${RUNS:-3}; DURATION=${DURATION:-10s}; WARMUP=${WARMUP:-10s}; K=1000; THREADS=2; CONNS=64
REDIS_PORT=6591; APP_PORT=18591
declare -A DIR=([old]=/tmp/bench-old/bin/QuickStart/release [new]=/tmp/bench-new/bin/QuickStart/release)
EPS="hit read"; BACKENDS="memory redis"
OUT=${OUT:?}; RUN=$(mktemp -d /tmp/splitrun.XXXXXX)
mkdir -p "$OUT/raw"
cleanup() {
  trap - EXIT INT TERM
  [[ -n ${REDIS_PID:-} ]] && kill -CONT "$REDIS_PID" 2>/dev/null
  for pid in "${STARTED[@]}"; do stop_pid "$pid" pid; done
  log "stopped: ${STARTED[*]}"
  rm -rf "$RUN"
}
trap cleanup EXIT; trap 'exit 130' INT TERM
exec 2> >(tee -a "$OUT/run.log" >&2)

la() { cut -d' ' -f1-3 /proc/loadavg; }

start_app() {   # start_app old|new [ENV=V...]
  local b=$1; shift
  port_busy "$APP_PORT" && die "port $APP_PORT busy"
  mkdir -p "$RUN/home"
  (cd "${DIR[$b]}" && exec env "$@" HOME="$RUN/home" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ASPNETCORE_ENVIRONMENT=Production \
    Sessions__Backend=$BACKEND Sessions__Redis__Configuration="127.0.0.1:$REDIS_PORT" \
    dotnet QuickStart.dll --urls "http://127.0.0.1:$APP_PORT") >>"$RUN/$b.log" 2>&1 &
  APP_PID=$!; STARTED+=("$APP_PID")
  wait_http "http://127.0.0.1:$APP_PORT/plain" "$APP_PID" "$b"
}

target() { case $1 in hit|read|plain) path=/$1; nc=0;; plain-nocookie) path=/plain; nc=1;; esac; }

wrk_run() {     # wrk_run DURATION FILE PATH NOCOOKIE [args]
  local d=$1 f=$2 p=$3 n=$4; shift 4
  COOKIE_FILE=$RUN/cookies NO_COOKIE=$n THREADS=$THREADS \
    wrk -t$THREADS -c$CONNS -d"$d" "$@" -s "$HERE/lib/cookies.lua" "http://127.0.0.1:$APP_PORT$p" >"$f" 2>&1 || die "wrk failed: $f"
}

one() {         # one old|new ROUND (backend: $BACKEND)
  local b=$1 r=$2 w=0 ep path nc a0 a1 t0 t1
  log "== $b round $r (load $(la))"
  redis-cli -p $REDIS_PORT flushall >/dev/null
  start_app "$b"
  $PY "$HERE/lib/precreate.py" "http://127.0.0.1:$APP_PORT" $K "$RUN/cookies" session || die "precreate failed"
  while ((w < 4)); do for ep in $EPS; do ((w < 4)) || break; target $ep
      wrk_run "$WARMUP" "$OUT/raw/$BACKEND.$b.$ep.warmup.$r.txt" "$path" "$nc"; w=$((w + 1)); done; done
  for ep in $EPS; do
    target $ep
    a0=$(tree_ticks "$APP_PID"); t0=$(tree_ticks "$REDIS_PID")
    wrk_run "$DURATION" "$OUT/raw/$BACKEND.$b.$ep.$r.txt" "$path" "$nc" --latency
    a1=$(tree_ticks "$APP_PID"); t1=$(tree_ticks "$REDIS_PID")
    json=$(sed -n 's/^LOADJSON {//p' "$OUT/raw/$BACKEND.$b.$ep.$r.txt")
    echo "{\"backend\":\"$BACKEND\",\"build\":\"$b\",\"endpoint\":\"$ep\",\"round\":$r,\"srv_ticks\":$((a1 - a0)),\"store_ticks\":$((t1 - t0)),\"loadavg\":\"$(la)\",$json" >>"$OUT/results.jsonl"
    log "  $BACKEND $b $ep r$r: $(grep -E 'Requests/sec|Non-2xx|Socket errors' "$OUT/raw/$BACKEND.$b.$ep.$r.txt" | tr -s ' ' | tr '\n' ' ')"
  done
  stop_pid "$APP_PID" app; forget_pid "$APP_PID"
}

{
  echo "date: $(date -u -Is)"
  echo "machine: $(uname -srm), $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); load average at start: $(la)"
  echo "old: ed35bfc (before issue 23; /work/wt-old, Release, --artifacts-path /tmp/bench-old); new: $(git -C $MAIN rev-parse --short HEAD) (/work/main, Release, --artifacts-path /tmp/bench-new)"
  echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency, $K cookies round-robin (lib/cookies.lua), after 4 warm-ups of $WARMUP; $RUNS rounds, order old,new then new,old alternating"
  echo "software: .NET $(dotnet --list-runtimes | awk '/AspNetCore.App/{v=$2} END{print v}'), redis-server $(redis-server --version | awk '{print $3}'), wrk $(dpkg-query -W -f='${Version}' wrk)"
} >"$OUT/meta.txt"

port_busy $REDIS_PORT && die "redis port busy"
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" --logfile "$RUN/redis.log" --daemonize no >/dev/null 2>&1 &
REDIS_PID=$!; STARTED+=("$REDIS_PID")
for ((i = 0; i < 100; i++)); do [[ $(redis-cli -p $REDIS_PORT ping 2>/dev/null) == PONG ]] && break; sleep 0.05; done
log "redis-server pid $REDIS_PID on $REDIS_PORT"

for ((r = 1; r <= RUNS; r++)); do
  for BACKEND in $BACKENDS; do
    if ((r % 2)); then one old $r; one new $r; else one new $r; one old $r; fi
  done
done
echo "load average at end: $(la)" >>"$OUT/meta.txt"
log done
