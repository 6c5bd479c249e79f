-- GET the paths read from BODY_FILE (one per line, in turn) with the Authorization header
-- from AUTH. Prints its figures at the end (report.lua).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local paths = {}
for line in io.lines(os.getenv("BODY_FILE")) do paths[#paths + 1] = line end
local counter = 0
wrk.headers["Authorization"] = os.getenv("AUTH")

request = function()
  counter = counter + 1
  return wrk.format("GET", paths[counter % #paths + 1])
end
