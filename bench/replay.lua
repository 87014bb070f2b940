-- Replays pre-built requests from a file, one per line: METHOD \t PATH \t AUTH \t TYPE \t BODY.
-- Arguments: the file, the first line to use, and a pause per request in ms (0: none).
local reqs = {}
local i = 0
local pause = 0

init = function(args)
  local first = tonumber(args[2]) or 1
  pause = tonumber(args[3]) or 0
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    if n >= first then
      local method, path, auth, ctype, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {["Content-Type"] = ctype}
      if auth ~= "" then headers["Authorization"] = auth end
      reqs[#reqs + 1] = wrk.format(method, path, headers, body)
    end
  end
end

request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end

delay = function()
  return pause
end
