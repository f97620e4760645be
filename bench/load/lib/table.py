#!/usr/bin/python3
"""Turn one load run into its table and the issue-8 targets, as Markdown.

    table.py RESULTS_DIR

Reads RESULTS_DIR/results.jsonl (one JSON object per measured wrk run, written by run.sh), RESULTS_DIR/meta.txt and
RESULTS_DIR/redis-benchmark.txt; writes RESULTS_DIR/table.md and prints it.

Each row is the median over the run's rounds (LOAD_RUNS) of: req/s, p50, p99, and CPU per request (user+sys clock
ticks of the server process and its direct children during the measured window, divided by the requests wrk counted).
Ratios are ratios of those medians, all from this one run.
"""
import json
import os
import re
import statistics
import sys

LABEL = {"hit": "/hit", "read": "/read", "plain": "/plain", "plain-nocookie": "/plain (no cookie)"}
EXPRESS = ("express", "express-cluster2")


def main():
    out = sys.argv[1]
    runs = []
    with open(os.path.join(out, "results.jsonl")) as f:
        runs = [json.loads(line) for line in f if line.strip()]

    rows, order = {}, []
    for r in runs:
        key = (r["app"], r["endpoint"])
        if key not in rows:
            rows[key] = []
            order.append(key)
        rows[key].append(r)

    def med(key, field):
        values = [field(r) for r in rows.get(key, [])]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def rps(app, ep):
        return med((app, ep), lambda r: r["rps"])

    def cpu(app, ep, which="srv_ticks"):
        def per_request(r):
            if which not in r or r["requests"] <= 0:
                return None
            return r[which] * 1e6 / r["clk_tck"] / r["requests"]
        return med((app, ep), per_request)

    def p(app, ep, field):
        v = med((app, ep), lambda r: r[field])
        return None if v is None else v / 1000

    def wrk_cores(app, ep):
        # CPU time wrk itself used per second of the run; near LOAD_THREADS, wrk is what limits req/s.
        return med((app, ep), lambda r: r["wrk_cpu_s"] / (r["duration_us"] / 1e6) if r.get("wrk_cpu_s") else None)

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else a / b

    def f(v, digits=0):
        return "-" if v is None else f"{v:,.{digits}f}"

    header = ["app", "endpoint", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "store CPU µs/req",
              "÷ own /plain", "÷ built-in (req/s)", "÷ built-in (CPU)", "wrk CPU (cores)", "runs", "errors"]
    table = []
    for app, ep in order:
        rs = rows[(app, ep)]
        store = rs[0].get("store") or ""
        store_cpu = cpu(app, ep, "store_ticks") if store else None
        errors = sum(r["errors"] + r["non2xx"] for r in rs)
        own_plain = rps(app, "plain") if ep in ("hit", "read") else None
        builtin = None if app == "builtin" else rps("builtin", ep)
        builtin_cpu = None if app == "builtin" else cpu("builtin", ep)
        table.append([
            app, LABEL.get(ep, ep), f(rps(app, ep)), f(p(app, ep, "p50_us"), 2), f(p(app, ep, "p99_us"), 2),
            f(cpu(app, ep)), f"{f(store_cpu)} ({store})" if store else "-",
            f(ratio(rps(app, ep), own_plain), 2), f(ratio(rps(app, ep), builtin), 2),
            f(ratio(cpu(app, ep), builtin_cpu), 2), f(wrk_cores(app, ep), 2), str(len(rs)), str(errors),
        ])

    bench = os.path.join(out, "redis-benchmark.txt")
    if os.path.exists(bench):
        with open(bench) as fh:
            text = fh.read().replace("\r", "\n")
        for m in re.finditer(r"^(\w+): ([\d.]+) requests per second(?:, p50=([\d.]+) msec)?", text, re.M):
            table.append(["redis-benchmark -c 64", m.group(1), f(float(m.group(2))), m.group(3) or "-", "-",
                          "-", "-", "-", "-", "-", "-", "1", "-"])

    # The targets of issue 8, each a ratio of medians from this run.
    targets = []

    def target(name, value, op, threshold, note=""):
        if value is None:
            targets.append([name, "not measured", f"{op} {threshold}", "-", note])
            return
        met = value >= threshold if op == ">=" else value <= threshold
        targets.append([name, f"{value:.2f}", f"{op} {threshold}", "yes" if met else "**no**", note])

    target("memory /hit ÷ built-in /hit (req/s)", ratio(rps("memory", "hit"), rps("builtin", "hit")), ">=", 1.1)
    target("redis /hit ÷ built-in /hit (req/s)", ratio(rps("redis", "hit"), rps("builtin", "hit")), ">=", 0.6)
    target("redis /hit ÷ flask-sync-w4 /hit (req/s)", ratio(rps("redis", "hit"), rps("flask-sync-w4", "hit")), ">=", 5)
    express = [(rps(a, "hit"), a) for a in EXPRESS if rps(a, "hit") is not None]
    best = max(express) if express else (None, "")
    target("redis /hit ÷ express best /hit (req/s)", ratio(rps("redis", "hit"), best[0]), ">=", 3.5, best[1])
    for app in ("redis", "memcached", "postgres", "filesystem"):
        target(f"{app} /read ÷ {app} /plain (req/s)", ratio(rps(app, "read"), rps(app, "plain")), ">=", 0.7)
    target("memory /plain (no cookie) ÷ no middleware (req/s)",
           ratio(rps("memory", "plain-nocookie"), rps("no-middleware", "plain-nocookie")), ">=", 0.97)
    express_cpu = [(cpu(a, "hit"), a) for a in EXPRESS if cpu(a, "hit") is not None]
    low = min(express_cpu) if express_cpu else (None, "")
    target("redis /hit server CPU ÷ express /hit (µs/req)", ratio(cpu("redis", "hit"), low[0]), "<=", 0.2,
           f"{low[1]}, the lower of the express rows" if low[1] else "")
    target("redis /hit server CPU ÷ built-in /hit (µs/req)", ratio(cpu("redis", "hit"), cpu("builtin", "hit")), "<=", 1.5)
    # Issue 22: against ASP.NET Core's own session over the same Redis (AddStackExchangeRedisCache), no goal set.
    if rps("builtin-redis", "hit") is not None:
        for ep in ("hit", "read"):
            targets.append([f"redis /{ep} ÷ builtin-redis /{ep} (req/s)", f(ratio(rps("redis", ep), rps("builtin-redis", ep)), 2), "-", "-", "issue 22, no goal"])
            targets.append([f"redis /{ep} server CPU ÷ builtin-redis /{ep} (µs/req)", f(ratio(cpu("redis", ep), cpu("builtin-redis", ep)), 2), "-", "-", "issue 22, no goal"])
    builtin_tail = ratio(p("builtin", "hit", "p99_us"), p("builtin", "hit", "p50_us"))
    target("redis /hit p99 ÷ p50", ratio(p("redis", "hit", "p99_us"), p("redis", "hit", "p50_us")), "<=", 3,
           "" if builtin_tail is None else f"built-in /hit (no I/O) in this run: {builtin_tail:.2f}")

    md = []
    meta = os.path.join(out, "meta.txt")
    if os.path.exists(meta):
        with open(meta) as fh:
            md += [f"- {line.rstrip()}" for line in fh if line.strip()]
        md.append("")
    md += ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["--:"] * (len(header) - 2)) + "|"]
    md += ["| " + " | ".join(r) + " |" for r in table]
    md += ["", "Targets (issue 8; ratios of the medians above):", "",
           "| target | measured | wanted | met | note |", "|---|--:|--:|---|---|"]
    md += ["| " + " | ".join(r) + " |" for r in targets]
    text = "\n".join(md) + "\n"
    with open(os.path.join(out, "table.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
