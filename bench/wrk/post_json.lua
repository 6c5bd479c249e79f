-- POST JSON bodies read from BODY_FILE (one per line) with the Authorization header from AUTH
-- (and any one other header from HEADER).
-- Threads take turns through the file (thread n sends bodies n, n+T, n+2T, ...), so no body
-- is sent twice until the file is used up. Prints its figures at the end (report.lua).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

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
