# shellcheck shell=bash
# bench/load/lib/procs.sh: logging, and the bookkeeping that lets run.sh stop exactly what it started. Every process
# started goes into STARTED by PID and is stopped by PID (its direct children too) when run.sh exits, fails or is
# interrupted; nothing is ever stopped by name. Sourced by run.sh, which sets RUN (its private temp directory).

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

STARTED=()          # PIDs of every long-running process started by run.sh
STOP_HOOKS=()       # commands that stop a server gracefully before its PID is signalled (pg_ctl stop)

alive() {           # alive PID: true while PID exists and is not a zombie
  local s
  s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n $s && $s != Z* ]]
}

stop_pid() {        # stop_pid PID NAME: SIGTERM, up to 15 s, then SIGKILL; its direct children likewise
  local pid=$1 name=$2 kids i k
  [[ -n $pid ]] || return 0
  if ! alive "$pid"; then wait "$pid" 2>/dev/null; return 0; fi
  kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then log "$name ($pid) ignored SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  wait "$pid" 2>/dev/null
  for k in $kids; do
    for ((i = 0; i < 50; i++)); do alive "$k" || break; sleep 0.1; done
    if alive "$k"; then log "$name child $k still alive; sending SIGKILL"; kill -KILL "$k" 2>/dev/null; fi
  done
  return 0
}

forget_pid() {      # forget_pid PID: drop a PID that was stopped already
  local p kept=()
  for p in "${STARTED[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  STARTED=("${kept[@]}")
}

cleanup() {
  local rc=$? pid hook left=""
  trap - EXIT INT TERM
  for hook in "${STOP_HOOKS[@]}"; do eval "$hook" >/dev/null 2>&1; done
  for pid in "${STARTED[@]}"; do stop_pid "$pid" "pid"; done
  for pid in "${STARTED[@]}"; do alive "$pid" && left+=" $pid"; done
  if [[ -n $left ]]; then log "WARNING: still running:$left"; else log "every process run.sh started is stopped"; fi
  if [[ -n ${RUN:-} && -d $RUN && ${LOAD_KEEP_TMP:-0} != 1 ]]; then rm -rf "$RUN"; fi
  # A run that produced no table keeps its log under results/failed-* (ignored by git), out of the way of real results.
  if [[ -n ${OUT:-} && -d $OUT && ! -f $OUT/table.md ]]; then
    mv "$OUT" "$(dirname "$OUT")/failed-$(basename "$OUT")" 2>/dev/null && log "log of this failed run: $(dirname "$OUT")/failed-$(basename "$OUT")/run.log"
  fi
  exit $rc
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

wait_http() {       # wait_http URL PID NAME: until URL answers 200 (30 s), failing early if PID dies
  local i
  for ((i = 0; i < 300; i++)); do
    alive "$2" || die "$3 exited during start-up (log: $RUN/$3.log)"
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null) == 200 ]] && return 0
    sleep 0.1
  done
  die "$3 did not answer $1 within 30 s (log: $RUN/$3.log)"
}

tree_ticks() {      # tree_ticks PID: utime+stime (clock ticks) of PID and its direct children
  local p t=0 v
  [[ -n $1 ]] || { echo 0; return; }
  for p in $1 $(pgrep -P "$1" 2>/dev/null); do
    # Field 2 (comm) may hold spaces: drop everything up to ") ", then utime and stime are fields 12 and 13.
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') && t=$((t + ${v:-0}))
  done
  echo "$t"
}
