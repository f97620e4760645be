-- wrk script for the load harness: each request carries the next of K session cookies, round-robin.
--   COOKIE_FILE=path   one "name=value" per line (precreate.py writes it)
--   NO_COOKIE=1        send no Cookie header (the /plain no-cookie rows)
-- Thread i starts at cookie i*K/threads, so the threads do not walk the list in step.
-- done() prints one line for run.sh:  LOADJSON {...}   (latencies in microseconds)

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local cookies, position, no_cookie

function init(args)
  no_cookie = os.getenv("NO_COOKIE") == "1"
  cookies = {}
  if no_cookie then return end
  local path = assert(os.getenv("COOKIE_FILE"), "COOKIE_FILE is not set")
  for line in io.lines(path) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  assert(#cookies > 0, "no cookies in " .. path)
  local n = tonumber(os.getenv("THREADS") or "2")
  position = math.floor((index or 0) * #cookies / n) % #cookies
end

function request()
  if no_cookie then return wrk.format() end
  position = position % #cookies + 1
  return wrk.format(nil, nil, { Cookie = cookies[position] })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOADJSON {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
