#!/usr/bin/env bash
# Issue 21 fault 4: old (4e6bc90) vs new (HEAD) QuickStart on Redis, same run, rounds interleaving the two builds.
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
EPS="hit read plain plain-nocookie"
OUT=${OUT:?}; RUN=$(mktemp -d /tmp/lazyrun.XXXXXX)
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
    Sessions__Backend=redis Sessions__Redis__Configuration="127.0.0.1:$REDIS_PORT" \
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

one() {         # one old|new ROUND
  local b=$1 r=$2 w=0 ep path nc a0 a1 t0 t1
  log "== $b round $r (load $(la))"
  redis-cli -p $REDIS_PORT flushall >/dev/null
  start_app "$b"
  $PY "$HERE/lib/precreate.py" "http://127.0.0.1:$APP_PORT" $K "$RUN/cookies" session || die "precreate failed"
  while ((w < 4)); do for ep in $EPS; do ((w < 4)) || break; target $ep
      wrk_run "$WARMUP" "$OUT/raw/$b.$ep.warmup.$r.txt" "$path" "$nc"; w=$((w + 1)); done; done
  for ep in $EPS; do
    target $ep
    a0=$(tree_ticks "$APP_PID"); t0=$(tree_ticks "$REDIS_PID")
    wrk_run "$DURATION" "$OUT/raw/$b.$ep.$r.txt" "$path" "$nc" --latency
    a1=$(tree_ticks "$APP_PID"); t1=$(tree_ticks "$REDIS_PID")
    json=$(sed -n 's/^LOADJSON {//p' "$OUT/raw/$b.$ep.$r.txt")
    echo "{\"build\":\"$b\",\"endpoint\":\"$ep\",\"round\":$r,\"srv_ticks\":$((a1 - a0)),\"store_ticks\":$((t1 - t0)),\"loadavg\":\"$(la)\",$json" >>"$OUT/results.jsonl"
    log "  $b $ep r$r: $(grep -E 'Requests/sec|Non-2xx|Socket errors' "$OUT/raw/$b.$ep.$r.txt" | tr -s ' ' | tr '\n' ' ')"
  done
  stop_pid "$APP_PID" app; forget_pid "$APP_PID"
}

seq_plain() {   # seq_plain FILE N: N sequential GET /plain with the next cookies; "code time_total" per line
  local f=$1 n=$2 i c
  for ((i = 1; i <= n; i++)); do
    c=$(sed -n "$((i + 10))p" "$RUN/cookies")
    curl -s -o /dev/null --max-time 10 -H "Cookie: $c" -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$APP_PORT/plain" >>"$f"
  done
}

frozen() {      # frozen old|new cb-on|cb-off
  local b=$1 m=$2 f i pids=() env=(); f=$OUT/frozen.$b.$m
  [[ $m == cb-off ]] && env=(Sessions__CircuitBreaker__Enabled=false)
  log "== frozen-store test, $b $m (load $(la))"
  : >"$RUN/$b.log"; rm -f "$RUN"/read.*
  redis-cli -p $REDIS_PORT flushall >/dev/null
  start_app "$b" "${env[@]}"
  $PY "$HERE/lib/precreate.py" "http://127.0.0.1:$APP_PORT" 300 "$RUN/cookies" session || die "precreate failed"
  for ep in plain read hit; do target $ep; wrk_run 3s /dev/null "$path" "$nc"; done
  seq_plain "$f.plain-unfrozen.txt" 20
  kill -STOP "$REDIS_PID"; log "  redis-server $REDIS_PID SIGSTOP"
  sleep 0.5
  seq_plain "$f.plain-frozen.txt" 20
  # 200 concurrent /read (existing sessions) against the frozen store; /plain with a cookie meanwhile
  local t0; t0=$(date +%s.%N)
  for ((i = 1; i <= 200; i++)); do
    c=$(sed -n "$((i + 50))p" "$RUN/cookies")
    curl -s -o /dev/null --max-time 30 -H "Cookie: $c" -w "%{http_code} %{time_total}\n" "http://127.0.0.1:$APP_PORT/read" >"$RUN/read.$i" 2>&1 &
    pids+=($!)
  done
  sleep 0.2
  seq_plain "$f.plain-during-200-read.txt" 20
  for p in "${pids[@]}"; do wait "$p"; done
  cat "$RUN"/read.* >"$f.read-200-concurrent.txt"
  log "  200 /read done after $(echo "$(date +%s.%N) - $t0" | bc) s"
  seq_plain "$f.plain-frozen-after.txt" 20
  # sustained: wrk keeps 200 /read in flight for 5 s; /plain with a cookie sequentially meanwhile
  COOKIE_FILE=$RUN/cookies NO_COOKIE=0 THREADS=2 wrk -t2 -c200 -d5s --timeout 5s --latency -s "$HERE/lib/cookies.lua" \
    "http://127.0.0.1:$APP_PORT/read" >"$f.wrk-read-c200.txt" 2>&1 &
  local wp=$!; sleep 1
  while alive "$wp"; do seq_plain "$f.plain-during-wrk-c200.txt" 1; sleep 0.05; done
  wait "$wp"
  kill -CONT "$REDIS_PID"; log "  redis-server $REDIS_PID SIGCONT"
  sleep 3
  seq_plain "$f.plain-resumed.txt" 5
  c=$(sed -n 60p "$RUN/cookies")
  echo "read after SIGCONT: $(curl -s --max-time 10 -H "Cookie: $c" -w ' %{http_code}' "http://127.0.0.1:$APP_PORT/read")" >>"$f.resumed.txt"
  grep -c . "$RUN/$b.log" >/dev/null; cp "$RUN/$b.log" "$f.app.log"
  stop_pid "$APP_PID" app; forget_pid "$APP_PID"
}

frozen2() {     # frozen2 old|new cb-on|cb-off: the concurrent load starts at the moment of the freeze
  local b=$1 m=$2 f i pids=() env=() c wp t0; f=$OUT/frozen2.$b.$m
  [[ $m == cb-off ]] && env=(Sessions__CircuitBreaker__Enabled=false)
  log "== frozen2, $b $m (load $(la))"
  : >"$RUN/$b.log"; rm -f "$RUN"/read.*
  redis-cli -p $REDIS_PORT flushall >/dev/null
  start_app "$b" "${env[@]}"
  $PY "$HERE/lib/precreate.py" "http://127.0.0.1:$APP_PORT" 300 "$RUN/cookies" session || die "precreate failed"
  for ep in plain read hit; do target $ep; wrk_run 3s /dev/null "$path" "$nc"; done
  # A: wrk keeps 200 /read in flight from the freeze on, for 4 s; /plain with a cookie sequentially meanwhile
  kill -STOP "$REDIS_PID"; t0=$(date +%s.%N)
  COOKIE_FILE=$RUN/cookies NO_COOKIE=0 THREADS=2 wrk -t2 -c200 -d4s --timeout 5s --latency -s "$HERE/lib/cookies.lua" \
    "http://127.0.0.1:$APP_PORT/read" >"$f.A.wrk-read-c200.txt" 2>&1 &
  wp=$!; sleep 0.3
  while alive "$wp"; do seq_plain "$f.A.plain-during.txt" 1; sleep 0.05; done
  wait "$wp"
  kill -CONT "$REDIS_PID"; log "  A: frozen for $(echo "$(date +%s.%N) - $t0" | bc) s"
  for ((i = 0; i < 30; i++)); do [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Cookie: $(sed -n 60p "$RUN/cookies")" "http://127.0.0.1:$APP_PORT/read") == 200 ]] && break; sleep 1; done
  log "  /read answers 200 again after $i s"; sleep 2
  # B: 200 curl /read started at the freeze; /plain with a cookie sequentially meanwhile
  kill -STOP "$REDIS_PID"; t0=$(date +%s.%N)
  for ((i = 1; i <= 200; i++)); do
    c=$(sed -n "$((i + 50))p" "$RUN/cookies")
    curl -s -o /dev/null --max-time 30 -H "Cookie: $c" -w "%{http_code} %{time_total}\n" "http://127.0.0.1:$APP_PORT/read" >"$RUN/read.$i" 2>&1 &
    pids+=($!)
  done
  log "  B: 200 curls started $(echo "$(date +%s.%N) - $t0" | bc) s after the freeze"
  seq_plain "$f.B.plain-during.txt" 20
  log "  B: 20 /plain done $(echo "$(date +%s.%N) - $t0" | bc) s after the freeze"
  for p in "${pids[@]}"; do wait "$p"; done
  cat "$RUN"/read.* >"$f.B.read-200-concurrent.txt"
  log "  B: 200 /read done $(echo "$(date +%s.%N) - $t0" | bc) s after the freeze"
  kill -CONT "$REDIS_PID"
  for ((i = 0; i < 30; i++)); do [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Cookie: $(sed -n 60p "$RUN/cookies")" "http://127.0.0.1:$APP_PORT/read") == 200 ]] && break; sleep 1; done
  log "  /read answers 200 again after $i s"
  cp "$RUN/$b.log" "$f.app.log"
  stop_pid "$APP_PID" app; forget_pid "$APP_PID"
}

if [[ ${FROZEN2:-0} == 1 ]]; then
  port_busy $REDIS_PORT && die "redis port busy"
  redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" --logfile "$RUN/redis.log" --daemonize no >/dev/null 2>&1 &
  REDIS_PID=$!; STARTED+=("$REDIS_PID")
  for ((i = 0; i < 100; i++)); do [[ $(redis-cli -p $REDIS_PORT ping 2>/dev/null) == PONG ]] && break; sleep 0.05; done
  log "redis-server pid $REDIS_PID on $REDIS_PORT"
  echo "frozen2 (concurrent load from the moment of the freeze): $(date -u -Is), load average at start $(la)" >>"$OUT/meta.txt"
  for m in cb-on cb-off; do frozen2 new $m; frozen2 old $m; done
  echo "frozen2 end: load average $(la)" >>"$OUT/meta.txt"
  exit 0
fi

{
  echo "date: $(date -u -Is)"
  echo "machine: $(uname -srm), $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); load average at start: $(la)"
  echo "old: 4e6bc90 (/work/wt-old, Release, --artifacts-path /tmp/bench-old); new: $(git -C $MAIN rev-parse --short HEAD) (/work/main, Release, --artifacts-path /tmp/bench-new)"
  echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency, $K cookies round-robin (lib/cookies.lua), after 4 warm-ups of $WARMUP; $RUNS rounds, order old,new then new,old alternating"
  echo "software: .NET $(dotnet --list-runtimes | awk '/AspNetCore.App/{v=$2} END{print v}'), redis-server $(redis-server --version | awk '{print $3}'), wrk $(dpkg-query -W -f='${Version}' wrk)"
} >"$OUT/meta.txt"

port_busy $REDIS_PORT && die "redis port busy"
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$RUN" --logfile "$RUN/redis.log" --daemonize no >/dev/null 2>&1 &
REDIS_PID=$!; STARTED+=("$REDIS_PID")
for ((i = 0; i < 100; i++)); do [[ $(redis-cli -p $REDIS_PORT ping 2>/dev/null) == PONG ]] && break; sleep 0.05; done
log "redis-server pid $REDIS_PID on $REDIS_PORT"

if [[ ${SKIP_LOAD:-0} != 1 ]]; then
  for ((r = 1; r <= RUNS; r++)); do
    if ((r % 2)); then one old $r; one new $r; else one new $r; one old $r; fi
  done
fi
for m in cb-on cb-off; do frozen new $m; frozen old $m; done
echo "load average at end: $(la)" >>"$OUT/meta.txt"
log done
