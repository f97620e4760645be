#!/usr/bin/env python3
"""Clients for the store-migration demo (run.sh): each keeps its session cookie like a browser.

  drive.py create STATE URL N        N clients: GET /hit once (every 5th also signs in); saves cookies and counters
  drive.py load STATE URL STOPFILE [FRACTION]   the first FRACTION (default 1) of the clients hit /hit in turn until
                                               STOPFILE exists; each checks its counter went up by exactly one
  drive.py verify STATE URL          GET /read for every client: its counter must be the one it last saw

A client is "logged out" when the app answers its cookie with a fresh session (the counter restarts at 1, or /read gives
less than it saw). Refused connections while the app restarts are retried and counted apart; they are not HTTP answers.
"""
import http.client, json, os, sys, threading, time, urllib.parse

def request(url, method, path, cookie, body=None):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    headers = {}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    text = r.read().decode()
    for name, value in r.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            cookie = None if pair.endswith("=") else pair
            break
    conn.close()
    return r.status, text, cookie

class Stats:
    def __init__(self):
        self.lock = threading.Lock(); self.requests = 0; self.s5xx = 0; self.logged_out = 0; self.refused = 0
    def add(self, **kw):
        with self.lock:
            for k, v in kw.items(): setattr(self, k, getattr(self, k) + v)

def call(url, method, path, cookie, stats, body=None):
    while True:
        try:
            status, text, cookie2 = request(url, method, path, cookie, body)
            stats.add(requests=1, s5xx=1 if status >= 500 else 0)
            return status, text, cookie2
        except (ConnectionError, OSError):
            stats.add(refused=1); time.sleep(0.05)

def main():
    cmd, state, url = sys.argv[1], sys.argv[2], sys.argv[3]
    stats = Stats()
    if cmd == "create":
        n = int(sys.argv[4]); clients = []
        for i in range(n):
            status, text, cookie = call(url, "GET", "/hit", None, stats)
            c = {"cookie": cookie, "n": int(text) if status == 200 else 0, "user": None}
            if i % 5 == 0:
                status, _, cookie2 = call(url, "POST", "/login", c["cookie"], stats, body=f"user=user{i % 50}")
                c["cookie"] = cookie2 or c["cookie"]; c["user"] = f"user{i % 50}"
            clients.append(c)
        json.dump(clients, open(state, "w"))
    elif cmd == "load":
        stop = sys.argv[4]; clients = json.load(open(state))
        active = clients[:int(len(clients) * float(sys.argv[5]))] if len(sys.argv) > 5 else clients
        def worker(part):
            while not os.path.exists(stop):
                for c in part:
                    if os.path.exists(stop): break
                    status, text, cookie = call(url, "GET", "/hit", c["cookie"], stats)
                    if status != 200: continue
                    got = int(text)
                    if got != c["n"] + 1: stats.add(logged_out=1)
                    c["n"] = got; c["cookie"] = cookie or c["cookie"]
                    time.sleep(0.002)
        threads = [threading.Thread(target=worker, args=(active[k::8],)) for k in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        json.dump(clients, open(state, "w"))
    elif cmd == "verify":
        clients = json.load(open(state))
        for c in clients:
            status, text, _ = call(url, "GET", "/read", c["cookie"], stats)
            if status != 200 or int(text) != c["n"]: stats.add(logged_out=1)
    print(json.dumps({"command": cmd, "clients": len(json.load(open(state))), "requests": stats.requests,
                      "http_5xx": stats.s5xx, "logged_out": stats.logged_out, "refused_while_restarting": stats.refused}))

main()
