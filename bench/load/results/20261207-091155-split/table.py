#!/usr/bin/python3
import json, sys, statistics, glob, os
out = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
tck = os.sysconf("SC_CLK_TCK")
med = {}
lines = []
def m(v): return statistics.median(v)
lines.append("| endpoint | build | req/s (median) | rounds | p50 ms | p99 ms | server CPU µs/req | redis CPU µs/req | errors+non2xx |")
lines.append("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
for ep in ["hit", "read", "plain", "plain-nocookie"]:
    for b in ["old", "new"]:
        r = [x for x in rows if x["build"] == b and x["endpoint"] == ep]
        if not r: continue
        rps = m([x["rps"] for x in r]); med[(b, ep)] = rps
        cpu = m([x["srv_ticks"] / tck * 1e6 / x["requests"] for x in r])
        scpu = m([x["store_ticks"] / tck * 1e6 / x["requests"] for x in r])
        med[(b, ep, "cpu")] = cpu
        rounds = ", ".join("{:,.0f}".format(x["rps"]) for x in sorted(r, key=lambda x: x["round"]))
        lines.append(f"| `{ep}` | {b} | {rps:,.0f} | {rounds} | "
                     f"{m([x['p50_us'] for x in r])/1000:.2f} | {m([x['p99_us'] for x in r])/1000:.2f} | {cpu:.0f} | {scpu:.0f} | "
                     f"{sum(x['errors'] + x['non2xx'] for x in r)} |")
lines.append("")
lines.append("| ratio (medians, same run) | value |")
lines.append("| --- | ---: |")
def ratio(name, a, b): 
    if a in med and b in med: lines.append(f"| {name} | {med[a]/med[b]:.2f} |")
ratio("new `/plain` with cookie ÷ new `/plain` without", ("new", "plain"), ("new", "plain-nocookie"))
ratio("old `/plain` with cookie ÷ old `/plain` without", ("old", "plain"), ("old", "plain-nocookie"))
ratio("`/hit` new ÷ old", ("new", "hit"), ("old", "hit"))
ratio("`/read` new ÷ old", ("new", "read"), ("old", "read"))
ratio("`/plain` with cookie new ÷ old", ("new", "plain"), ("old", "plain"))
ratio("`/plain` without cookie new ÷ old", ("new", "plain-nocookie"), ("old", "plain-nocookie"))
# per-round ratios
for ep in ["hit", "read"]:
    per = []
    for rd in sorted({x["round"] for x in rows}):
        o = [x for x in rows if x["build"] == "old" and x["endpoint"] == ep and x["round"] == rd]
        n = [x for x in rows if x["build"] == "new" and x["endpoint"] == ep and x["round"] == rd]
        if o and n: per.append(f"{n[0]['rps']/o[0]['rps']:.2f}")
    lines.append(f"| `/{ep}` new ÷ old per round | {', '.join(per)} |")
for ep in ["hit", "read"]:
    if ("new", ep, "cpu") in med:
        lines.append(f"| `/{ep}` server CPU/req new ÷ old | {med[('new', ep, 'cpu')]/med[('old', ep, 'cpu')]:.2f} |")
lines.append("")
lines.append("Frozen store (redis-server SIGSTOPped), `GET /plain` with a session cookie, sequential curl (time_total):")
lines.append("")
lines.append("| build | breaker | phase | n | codes | median ms | max ms |")
lines.append("| --- | --- | --- | ---: | --- | ---: | ---: |")
for m_ in ["cb-on", "cb-off"]:
    for b in ["new", "old"]:
        for ph in ["plain-unfrozen", "plain-frozen", "plain-during-200-read", "read-200-concurrent", "plain-during-wrk-c200", "plain-frozen-after", "plain-resumed"]:
            f = os.path.join(out, f"frozen.{b}.{m_}.{ph}.txt")
            if not os.path.exists(f): continue
            v = [l.split() for l in open(f) if l.strip()]
            codes = {}
            for c, _ in v: codes[c] = codes.get(c, 0) + 1
            t = sorted(float(x[1]) * 1000 for x in v)
            lines.append(f"| {b} | {m_} | {ph} | {len(t)} | {', '.join(f'{k}×{c}' for k, c in sorted(codes.items()))} | {statistics.median(t):.1f} | {t[-1]:.1f} |")
lines.append("")
lines.append("frozen2 A: wrk -t2 -c200 -d4s --timeout 5s on `/read` (existing sessions) started at the SIGSTOP; sequential `/plain` with a cookie meanwhile:")
lines.append("")
lines.append("| build | breaker | /read requests | /read non-2xx | /read p50 | /read p99 | /plain n | /plain codes | /plain median ms | /plain max ms |")
lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
import re
for m_ in ["cb-on", "cb-off"]:
    for b in ["new", "old"]:
        w = open(os.path.join(out, f"frozen2.{b}.{m_}.A.wrk-read-c200.txt")).read()
        req = re.search(r"(\d+) requests in", w).group(1)
        non = re.search(r"Non-2xx or 3xx responses: (\d+)", w); non = non.group(1) if non else "0"
        p50 = re.search(r"50%\s+(\S+)", w).group(1); p99 = re.search(r"99%\s+(\S+)", w).group(1)
        v = [l.split() for l in open(os.path.join(out, f"frozen2.{b}.{m_}.A.plain-during.txt")) if l.strip()]
        codes = {}
        for c, _ in v: codes[c] = codes.get(c, 0) + 1
        t = sorted(float(x[1]) * 1000 for x in v)
        lines.append(f"| {b} | {m_} | {req} | {non} | {p50} | {p99} | {len(t)} | {', '.join(f'{k}×{c}' for k, c in sorted(codes.items()))} | {statistics.median(t):.1f} | {t[-1]:.1f} |")
print("\n".join(lines))
open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
