-- A burst: each pre-built request is sent once, over all the connections, and wrk ends as the
-- last one is answered. One request a line: METHOD \t PATH \t AUTH \t TYPE \t BODY.
-- Arguments: the file, and how long (ms) each connection holds its first request, so that every
-- connection is open before the burst is released. At the end it prints the time from the
-- first request sent to the last answer, and a count per status. Run it with one wrk thread
-- (-t1): the lines are not split between threads.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } burst_timespec;
int clock_gettime(int clock_id, burst_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("burst_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local reqs = {}
local hold = 0
local sent = 0
local answered = 0
local released = nil
local verified = false
local statuses = {}

local function report(last)
  io.write(string.format("burst sent %d answered %d\n", sent, answered))
  if released then io.write(string.format("burst seconds %.6f\n", last - released)) end
  for status, n in pairs(statuses) do
    io.write(string.format("burst status %d %d\n", status, n))
  end
  io.flush()
end

init = function(args)
  hold = tonumber(args[2]) or 0
  for line in io.lines(args[1]) do
    local method, path, auth, ctype, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {["Content-Type"] = ctype}
    if auth ~= "" then headers["Authorization"] = auth end
    reqs[#reqs + 1] = wrk.format(method, path, headers, body)
  end
end

delay = function()
  if sent == 0 then return hold end
  if sent >= #reqs then return 3600000 end -- every line sent: this connection idles
  return 0
end

request = function()
  if not verified then -- wrk asks once before the run, to count the requests a call gives
    verified = true
    return reqs[1]
  end
  if sent == 0 then released = now() end
  sent = sent + 1
  return reqs[sent]
end

response = function(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if answered >= #reqs then
    report(now())
    os.exit(0) -- wrk would otherwise wait out its -d
  end
end

done = function(summary, latency, requests)
  io.write("burst unfinished\n") -- -d passed first: a line is still unanswered
end
