#!/usr/bin/env python3
"""bench/faults/table.py: prints run.sh's per-second table for one store from load.py's output and the event log.

Usage: table.py STORE REQUESTS.jsonl EVENTS.tsv TIMEOUT_MS
EVENTS.tsv lines: <Unix time> <tab> <event> (freeze, thaw, kill, restart, crash); REQUESTS.jsonl starts with {"start": Unix time}.
Per second and route: count per status (0 = no answer / connection error) and the worst latency. Then a summary per
phase: 503s on /plain (must be none), the worst latency (must stay near the operation timeout) and, after each return
of the store (thaw, restart), the time to the first success of /hit.
"""
import collections
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
