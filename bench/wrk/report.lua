-- What every bench script of this folder shares, loaded by each with
-- dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua"):
-- numbered threads (`id` in each thread, for taking turns through a file) and the figures
-- printed at the end, one "name value" a line, which bench/load.py reads.
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end

done = function(summary, latency, requests)
  io.write(string.format("rps %.2f\n", summary.requests / summary.duration * 1e6))
  io.write(string.format("p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p95_ms %.2f\n", latency:percentile(95) / 1000))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("max_ms %.2f\n", latency.max / 1000))
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("errors %d\n", summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.status + summary.errors.timeout))
end
