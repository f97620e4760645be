#!/usr/bin/env python3
"""bench/faults/table.py: prints run.sh's per-second table for one store from load.py's output and the event log.

Usage: table.py STORE REQUESTS.jsonl EVENTS.tsv TIMEOUT_MS [SESSIONS.txt KEYS.tsv KILLED]
EVENTS.tsv lines: <Unix time> <tab> <event> (freeze, thaw, kill, restart, crash); REQUESTS.jsonl starts with {"start": Unix time}.
Per second and route: count per status (0 = no answer / connection error) and the worst latency. Then a summary per
phase: 503s on /plain (must be none), the worst latency (must stay near the operation timeout) and, after each return
of the store (thaw, restart), the time to the first success of /hit.
With SESSIONS.txt (the cookies load.py read, one a line), KEYS.tsv (<primary> <tab> <key> for every key each primary of a
Redis Cluster held before the fault) and KILLED (the primary that was killed), the columns are instead the sessions on
the healthy primaries and those on the killed one (storage key: "session:" + base64url(SHA-256(session ID)), the
default Sessions:KeyPrefix with hashing at rest), and the summary lists every failure on a healthy primary.
"""
import base64
import collections
import hashlib
import json
import sys

store, requests_path, events_path, timeout_ms = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
lines = [json.loads(line) for line in open(requests_path, encoding="utf-8") if line.strip()]
start = next((line["start"] for line in lines if "start" in line), 0.0)
rows = [line for line in lines if "route" in line]
events = []
for line in open(events_path, encoding="utf-8"):
    if line.strip():
        t, name = line.rstrip("\n").split("\t")
        events.append((float(t) - start, name))

routes = ["/hit", "/read", "/plain"]
shard_of = {}
if len(sys.argv) > 7:
    sessions_path, keys_path, killed = sys.argv[5], sys.argv[6], sys.argv[7]
    node_of_key = dict(reversed(line.rstrip("\n").split("\t", 1)) for line in open(keys_path, encoding="utf-8") if line.strip())
    for n, cookie in enumerate(line.strip() for line in open(sessions_path, encoding="utf-8") if line.strip()):
        sid = cookie.split("=", 1)[1]
        key = "session:" + base64.urlsafe_b64encode(hashlib.sha256(sid.encode()).digest()).decode().rstrip("=")
        shard_of[n] = node_of_key.get(key, "?")
    nodes = collections.Counter(shard_of.values())
    for r in rows:
        r["node"] = shard_of.get(r.get("s"), "?")
        r["route"] = "killed primary" if r["node"] == killed else "healthy primaries"
    routes = ["healthy primaries", "killed primary"]
by_second = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
worst = collections.defaultdict(lambda: collections.defaultdict(float))
for r in rows:
    s = int(r["t"])
    by_second[s][r["route"]][r["status"]] += 1
    worst[s][r["route"]] = max(worst[s][r["route"]], r["ms"])


def cell(counter, w):
    if not counter:
        return "-"
    parts = " ".join(f"{k}:{v}" for k, v in sorted(counter.items()))
    return f"{parts} ({w:.0f} ms)"


marks = collections.defaultdict(list)
for t, name in events:
    marks[int(t)].append(name)

print(f"\n### {store}\n")
print("| s | event | " + " | ".join(routes) + " |")
print("| ---: | --- | " + " | ".join("---" for _ in routes) + " |")
for s in sorted(by_second):
    print(f"| {s} | {', '.join(marks.get(s, []))} | " + " | ".join(cell(by_second[s][r], worst[s][r]) for r in routes) + " |")

if shard_of:
    print()
    print(f"- sessions per primary: " + ", ".join(f"{k}: {v}" for k, v in sorted(nodes.items())) + f" (killed: {killed}); {len(rows)} reads")
    healthy = [r for r in rows if r["route"] == "healthy primaries"]
    dead = [r for r in rows if r["route"] == "killed primary"]
    bad = [r for r in healthy if r["status"] != 200]
    print(f"- healthy primaries: {len(healthy)} reads, " + ", ".join(f"{k}: {v}" for k, v in sorted(collections.Counter(r["status"] for r in healthy).items()))
          + f"; worst latency {max((r['ms'] for r in healthy), default=0):.0f} ms")
    if 0 < len(bad) <= 10:
        for r in bad:
            print(f"  - non-200 on a healthy primary: t {r['t']:.3f} s, status {r['status']}, {r['ms']:.0f} ms, session {r['s']} on {r['node']}")
    for node in sorted({r["node"] for r in bad} if len(bad) > 10 else ()):
        mine = [r for r in bad if r["node"] == node]
        print(f"  - non-200 on healthy {node}: " + ", ".join(f"{k}: {v}" for k, v in sorted(collections.Counter(r["status"] for r in mine).items()))
              + f", started from t {min(r['t'] for r in mine):.3f} to {max(r['t'] for r in mine):.3f} s, latency {min(r['ms'] for r in mine):.0f} to {max(r['ms'] for r in mine):.0f} ms")
    kill_t = next((t for t, name in events if name == "kill"), None)
    if kill_t is not None:
        after = [r for r in dead if r["t"] >= kill_t]
        failed = [r for r in after if r["status"] != 200]
        print(f"- killed primary, from the kill on: " + ", ".join(f"{k}: {v}" for k, v in sorted(collections.Counter(r["status"] for r in after).items()))
              + (f"; failures from {failed[0]['t'] - kill_t:.1f} to {max(r['t'] + r['ms'] / 1000 for r in failed) - kill_t:.1f} s after the kill" if failed else "")
              + f"; worst latency {max((r['ms'] for r in after), default=0):.0f} ms")
        ok_after = [r for r in after if r["status"] == 200 and (not failed or r["t"] > failed[0]["t"])]
        first = min((r["t"] + r["ms"] / 1000 for r in ok_after), default=None)
        print("- cluster events after the kill (polled every 0.1 s): "
              + ", ".join(f"{name} +{t - kill_t:.1f} s" for t, name in events if t > kill_t))
        print("- first 200 on the killed primary's sessions after its failures began: "
              + (f"{first - kill_t:.2f} s after the kill" if first is not None else "never")
              + "".join(f", {first - t:.2f} s after the replica was seen promoted" for t, name in events if name == "promoted" and first is not None)
              + (f"; last failure started {max(r['t'] for r in failed) - kill_t:.2f} s after the kill" if failed else ""))
    sys.exit(0)

plain_503 = sum(1 for r in rows if r["route"] == "/plain" and r["status"] == 503)
plain_bad = sum(1 for r in rows if r["route"] == "/plain" and r["status"] != 200)
worst_all = max((r["ms"] for r in rows), default=0)
worst_session = max((r["ms"] for r in rows if r["route"] != "/plain"), default=0)
print()
print(f"- {len(rows)} requests; /plain answered non-200 {plain_bad} times ({plain_503} of them 503)")
print(f"- worst latency: {worst_all:.0f} ms overall, {worst_session:.0f} ms on session routes (operation timeout {timeout_ms:.0f} ms)")
pairs = {"freeze": "thaw", "kill": "restart"}
for t, name in events:
    if name in pairs:
        end = next((u for u, n in events if n == pairs[name] and u > t), None)
        if end is not None:
            window = [r for r in rows if t <= r["t"] < end]
            statuses = collections.Counter(r["status"] for r in window)
            worst_window = max((r["ms"] for r in window), default=0)
            print(f"- {name} to {pairs[name]} ({t:.1f} to {end:.1f} s): " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
                  + f"; worst latency {worst_window:.0f} ms")
for t, name in events:
    if name in ("thaw", "restart"):
        after = [r for r in rows if r["route"] == "/hit" and r["status"] == 200 and r["t"] >= t]
        first = min((r["t"] + r["ms"] / 1000 for r in after), default=None)
        print(f"- after {name} at {t:.1f} s: first /hit 200 " + (f"{(first - t) * 1000:.0f} ms later" if first is not None else "never"))
