-- POST JSON bodies read from BODY_FILE (one per line) with the Authorization header from AUTH
-- (and any one other header from HEADER).
-- Threads take turns through the file (thread n sends bodies n, n+T, n+2T, ...), so no body
-- is sent twice until the file is used up. Prints latency percentiles and errors at the end.
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local bodies = {}
for line in io.lines(os.getenv("BODY_FILE")) do bodies[#bodies + 1] = line end
local stride = tonumber(os.getenv("WRK_THREADS") or "2")
local next_body

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("AUTH") and os.getenv("AUTH") ~= "" then
  wrk.headers["Authorization"] = os.getenv("AUTH")
end
-- One more header, "Name: value" in HEADER (a provider's key on its callbacks).
if os.getenv("HEADER") and os.getenv("HEADER") ~= "" then
  local name, value = os.getenv("HEADER"):match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

request = function()
  next_body = ((next_body or (id - stride)) + stride) % #bodies
  return wrk.format(nil, nil, nil, bodies[next_body + 1])
end

done = function(summary, latency, requests)
  io.write(string.format("p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p95_ms %.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("errors %d\n", summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.status + summary.errors.timeout))
end
