#!/usr/bin/env python3
"""bench/faults/load.py: a small closed-loop load generator for run.sh.

Usage: load.py URL SECONDS CLIENTS OUT.jsonl [SESSIONS.txt]
       load.py --create URL N SESSIONS.txt       # N new sessions (one /hit each: n = 1), one cookie a line
       load.py --check URL SESSIONS.txt          # reads every session back (/read), then writes each once (/hit)
Each client keeps one HTTP/1.1 keep-alive connection and one session cookie (taken from its first /hit), and cycles
through /hit, /read and /plain with it. With SESSIONS.txt, client k instead reads (/read) sessions k, k + CLIENTS, ...
of the file round-robin, and each line also carries "s", the session's line number. Every request is written as one
line {"t": seconds since start, "route", "status" (0 = no answer within the client timeout or a broken connection),
"ms"}; the first line is {"start": the Unix time that t counts from}, so that run.sh's events line up. Standard library
only.
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

ROUTES = ["/hit", "/read", "/plain"]
TIMEOUT_S = 15.0


def call(conn: http.client.HTTPConnection, route: str, cookie: str | None) -> tuple[int, str, str | None]:
    """One GET: (status, body, the session cookie the app set or None)."""
    conn.request("GET", route, headers={"Cookie": cookie} if cookie else {})
    resp = conn.getresponse()
    body = resp.read().decode("utf-8", "replace")
    issued = None
    for name, value in resp.getheaders():
        if name.lower() == "set-cookie" and value.startswith("session=") and not value.startswith("session=;"):
            issued = value.split(";", 1)[0]
    return resp.status, body, issued


def create(url: str, count: int, path: str) -> None:
    target = urlparse(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT_S)
    with open(path, "w", encoding="utf-8") as sink:
        for _ in range(count):
            status, _, issued = call(conn, "/hit", None)
            if status != 200 or issued is None:
                sys.exit(f"creating a session: /hit answered {status} without a session cookie")
            sink.write(issued + "\n")


def check(url: str, path: str) -> None:
    """Prints how many sessions still hold n = 1 (read back) and how many then took a write (/hit answers 2)."""
    target = urlparse(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT_S)
    cookies = [line.strip() for line in open(path, encoding="utf-8") if line.strip()]
    reads = sum(1 for c in cookies if call(conn, "/read", c)[:2] == (200, "1"))
    writes = sum(1 for c in cookies if call(conn, "/hit", c)[:2] == (200, "2"))
    print(f"read back {reads} of {len(cookies)} sessions (n = 1); writes after: {writes} of {len(cookies)} (/hit answered 2)")


def main() -> None:
    if sys.argv[1] == "--create":
        return create(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    if sys.argv[1] == "--check":
        return check(sys.argv[2], sys.argv[3])
    url, seconds, clients, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    sessions = [line.strip() for line in open(sys.argv[5], encoding="utf-8") if line.strip()] if len(sys.argv) > 5 else []
    target = urlparse(url)
    start = time.monotonic()
    start_wall = time.time()
    stop_at = start + seconds
    lock = threading.Lock()
    sink = open(out, "w", encoding="utf-8")
    sink.write(json.dumps({"start": start_wall}) + "\n")

    def client(index: int) -> None:
        conn = None
        cookie = None
        i = index
        extra = {}
        while time.monotonic() < stop_at:
            if sessions:
                s = i % len(sessions)
                route, cookie, extra = "/read", sessions[s], {"s": s}
                i += clients
            else:
                route = ROUTES[i % len(ROUTES)]
                i += 1
            if conn is None:
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT_S)
            t0 = time.monotonic()
            try:
                status, _, issued = call(conn, route, cookie)
                # Keep the session cookie the app issues (the first, or a new one after the store lost the session).
                if issued is not None and not sessions:
                    cookie = issued
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = None
                time.sleep(0.05)
            t1 = time.monotonic()
            line = json.dumps({"t": round(t0 - start, 3), "route": route, "status": status, "ms": round((t1 - t0) * 1000, 1)} | extra)
            with lock:
                sink.write(line + "\n")

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + TIMEOUT_S + 5)
    sink.close()


if __name__ == "__main__":
    main()
