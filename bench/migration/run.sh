#!/usr/bin/env bash
# The store-migration demo: QuickStart on memcached with 1,000 sessions, switched to Redis through the migrating backend
# while clients keep hitting it, then `sessions copy` for the sessions traffic did not move, then Redis alone.
# Prints, per phase, requests, HTTP 5xx and users logged out (both must be 0). Servers on loopback, stopped by PID.
# Usage: bench/migration/run.sh [sessions=1000] [seconds of load per phase=10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
N=${1:-1000}; SECONDS_PER_PHASE=${2:-10}
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MC=$(port); RD=$(port); APP=$(port)

memcached -u root -l 127.0.0.1 -p "$MC" -U 0 & pids+=($!)
redis-server --port "$RD" --bind 127.0.0.1 --save '' --appendonly no --logfile "$work/redis.log" & pids+=($!)

echo "== build (Release): samples/QuickStart, src/Sessions.Tool"
dotnet build samples/QuickStart -c Release -nologo -v q -clp:NoSummary >/dev/null
dotnet build src/Sessions.Tool -c Release -nologo -v q -clp:NoSummary >/dev/null
app_dll=$(pwd)/samples/QuickStart/bin/Release/net10.0/QuickStart.dll
tool_dll=$(pwd)/src/Sessions.Tool/bin/Release/net10.0/sessions.dll
settings=$(pwd)/samples/QuickStart/appsettings.json
URL=http://127.0.0.1:$APP
export Sessions__Memcached__Servers=127.0.0.1:$MC Sessions__Redis__Configuration=127.0.0.1:$RD ASPNETCORE_URLS=$URL

app_pid=
start_app() { # env assignments for this run of the app
    (cd samples/QuickStart && exec env "$@" dotnet "$app_dll" >>"$work/app.log" 2>&1) & app_pid=$!; pids+=($app_pid)
    for _ in $(seq 1 400); do curl -sf "$URL/plain" >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "the app did not start; log:"; tail -20 "$work/app.log"; exit 1
}
stop_app() { kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; }
load_phase() { rm -f "$work/stop"; python3 bench/migration/drive.py load "$work/state.json" "$URL" "$work/stop" "$1" > "$work/load.json" & load=$!; }
end_load() { touch "$work/stop"; wait "$load"; cat "$work/load.json"; }

echo "== 1. QuickStart on memcached: $N sessions (every 5th signed in)"
start_app Sessions__Backend=memcached
python3 bench/migration/drive.py create "$work/state.json" "$URL" "$N"

echo "== 2. under load from half of the clients: restart the app with Sessions:Migration memcached -> redis (clients keep their cookies)"
load_phase 0.5; sleep "$SECONDS_PER_PHASE"
stop_app
start_app Sessions__Backend=memcached Sessions__Migration__From=memcached Sessions__Migration__To=redis
sleep "$SECONDS_PER_PHASE"; end_load

echo "== 3. sessions copy for the rest (moves: the migration names the same stores), while the first half of the clients keeps hitting the app"
count() { Sessions__Backend=$1 dotnet "$tool_dll" list --json --page-size 1 --config "$settings" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
echo "before: memcached $(count memcached), redis $(count redis)"
load_phase 0.5; sleep 1
Sessions__Backend=memcached Sessions__Migration__From=memcached Sessions__Migration__To=redis \
    dotnet "$tool_dll" copy --from memcached --to redis --config "$settings" --json
sleep 1; end_load
echo "after: memcached $(count memcached), redis $(count redis)"

echo "== 4. drop the migration: Redis alone; every client reads its counter"
stop_app
start_app Sessions__Backend=redis
python3 bench/migration/drive.py verify "$work/state.json" "$URL"
stop_app
