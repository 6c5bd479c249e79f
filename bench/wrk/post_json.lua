-- POST one JSON body read from BODY_FILE (one body per line, taken in turn) with the
-- Authorization header from AUTH; prints p95 latency and the status counts at the end.
local bodies = {}
for line in io.lines(os.getenv("BODY_FILE")) do bodies[#bodies + 1] = line end
local next_body = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("AUTH") and os.getenv("AUTH") ~= "" then
  wrk.headers["Authorization"] = os.getenv("AUTH")
end

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end


done = function(summary, latency, requests)
  io.write(string.format("p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p95_ms %.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("errors %d\n", summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.status + summary.errors.timeout))
end
