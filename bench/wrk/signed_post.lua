-- POST bodies that each carry their own signature: lines of "<signature>\t<body>" read from
-- BODY_FILE, the signature sent in the header named by SIGNATURE_HEADER and the body as
-- CONTENT_TYPE (a provider's callbacks: Stripe-Signature over JSON, X-Twilio-Signature over a
-- form). Threads take turns through the file as in post_json.lua. Prints latency percentiles
-- and errors at the end.
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local lines = {}
for line in io.lines(os.getenv("BODY_FILE")) do
  local signature, body = line:match("^([^\t]*)\t(.*)$")
  lines[#lines + 1] = {signature, body}
end
local stride = tonumber(os.getenv("WRK_THREADS") or "1")
local signature_header = os.getenv("SIGNATURE_HEADER")
local content_type = os.getenv("CONTENT_TYPE") or "application/json"
local next_line

request = function()
  next_line = ((next_line or (id - stride)) + stride) % #lines
  local signed = lines[next_line + 1]
  local headers = {["Content-Type"] = content_type, [signature_header] = signed[1]}
  return wrk.format("POST", nil, headers, signed[2])
end

done = function(summary, latency, requests)
  io.write(string.format("p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p95_ms %.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("errors %d\n", summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.status + summary.errors.timeout))
end
