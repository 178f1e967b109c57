-- wrk script of scripts/load-test: every connection walks the routes of LOAD_PATHS (one a line) in turn, the API
-- routes with the bearer token LOAD_TOKEN and the pages with the session cookie LOAD_COOKIE; statuses are counted by
-- class in each thread and added up in done(), which prints one JSON line.
local paths = {}
for line in string.gmatch(os.getenv("LOAD_PATHS") or "/health", "[^\n]+") do
  paths[#paths + 1] = line
end
local token = os.getenv("LOAD_TOKEN") or ""
local cookie = os.getenv("LOAD_COOKIE") or ""
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  next_path = math.random(#paths)
  s2xx, s3xx, s4xx, s5xx = 0, 0, 0, 0
end

function request()
  next_path = next_path % #paths + 1
  local path = paths[next_path]
  local headers = {}
  if string.sub(path, 1, 5) == "/api/" then
    headers["Authorization"] = "Bearer " .. token
  else
    headers["Cookie"] = cookie
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status >= 500 then s5xx = s5xx + 1
  elseif status >= 400 then s4xx = s4xx + 1
  elseif status >= 300 then s3xx = s3xx + 1
  else s2xx = s2xx + 1 end
end

function done(summary, latency, requests)
  local counts = { ["2xx"] = 0, ["3xx"] = 0, ["4xx"] = 0, ["5xx"] = 0 }
  for _, thread in ipairs(threads) do
    counts["2xx"] = counts["2xx"] + (thread:get("s2xx") or 0)
    counts["3xx"] = counts["3xx"] + (thread:get("s3xx") or 0)
    counts["4xx"] = counts["4xx"] + (thread:get("s4xx") or 0)
    counts["5xx"] = counts["5xx"] + (thread:get("s5xx") or 0)
  end
  local ms = function(us) return us / 1000 end
  local e = summary.errors
  io.write(string.format(
    'REPORT {"requests": %d, "seconds": %.1f, "requests_per_second": %.1f, ' ..
    '"latency_ms": {"p50": %.2f, "p90": %.2f, "p99": %.2f, "max": %.2f, "mean": %.2f}, ' ..
    '"statuses": {"2xx": %d, "3xx": %d, "4xx": %d, "5xx": %d}, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency.max), ms(latency.mean),
    counts["2xx"], counts["3xx"], counts["4xx"], counts["5xx"],
    e.connect, e.read, e.write, e.timeout))
end
