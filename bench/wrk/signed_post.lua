-- POST bodies that each carry their own signature: lines of "<signature>\t<body>" read from
-- BODY_FILE, the signature sent in the header named by SIGNATURE_HEADER and the body as
-- CONTENT_TYPE (a provider's callbacks: Stripe-Signature over JSON, X-Twilio-Signature over a
-- form). Threads take turns through the file as in post_json.lua. Prints its figures at the end
-- (report.lua).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

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
