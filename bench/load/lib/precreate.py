#!/usr/bin/python3
"""Create K sessions for the load harness and write their cookies, one "name=value" per line.

    precreate.py BASE_URL K OUT COOKIE_NAME

Each session is one GET /hit without a cookie on a kept-alive connection; the answer must be 200 with body "1" and
set the named cookie, and all K cookies must differ. Exits 1 otherwise.
"""
import http.client
import sys
import urllib.parse


def main():
    base, k, out, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    cookies = []
    for i in range(k):
        conn.request("GET", "/hit")
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        if resp.status != 200 or body.strip() != "1":
            sys.exit(f"precreate: request {i}: HTTP {resp.status}, body {body[:200]!r} (expected 200 and 1)")
        cookie = next((v.split(";", 1)[0].strip() for h, v in resp.getheaders()
                       if h.lower() == "set-cookie" and v.split("=", 1)[0].strip() == name), None)
        if cookie is None:
            sys.exit(f"precreate: request {i}: no Set-Cookie for {name!r} in {resp.getheaders()}")
        cookies.append(cookie)
        if (resp.getheader("Connection") or "").lower() == "close":
            conn.close()
    conn.close()
    if len(set(cookies)) != k:
        sys.exit(f"precreate: {len(set(cookies))} distinct cookies out of {k}")
    with open(out, "w") as f:
        f.write("\n".join(cookies) + "\n")


if __name__ == "__main__":
    main()
