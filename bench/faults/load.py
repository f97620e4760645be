#!/usr/bin/env python3
"""bench/faults/load.py: a small closed-loop load generator for run.sh.

Usage: load.py URL SECONDS CLIENTS OUT.jsonl
Each client keeps one HTTP/1.1 keep-alive connection and one session cookie (taken from its first /hit), and cycles
through /hit, /read and /plain with it. Every request is written as one line {"t": seconds since start, "route",
"status" (0 = no answer within the client timeout or a broken connection), "ms"}; the first line is {"start": the Unix
time that t counts from}, so that run.sh's events line up. Standard library only.
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

ROUTES = ["/hit", "/read", "/plain"]
TIMEOUT_S = 15.0


def main() -> None:
    url, seconds, clients, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
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
        while time.monotonic() < stop_at:
            route = ROUTES[i % len(ROUTES)]
            i += 1
            if conn is None:
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT_S)
            headers = {"Cookie": cookie} if cookie else {}
            t0 = time.monotonic()
            try:
                conn.request("GET", route, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                for name, value in resp.getheaders():
                    # Keep the session cookie the app issues (the first, or a new one after the store lost the session).
                    if name.lower() == "set-cookie" and value.startswith("session=") and not value.startswith("session=;"):
                        cookie = value.split(";", 1)[0]
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = None
                time.sleep(0.05)
            t1 = time.monotonic()
            line = json.dumps({"t": round(t0 - start, 3), "route": route, "status": status, "ms": round((t1 - t0) * 1000, 1)})
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
