-- wrk script: GET /v1/check/<indicator> over the paths written by the check_server example.
local paths = {}
for line in io.lines(os.getenv("CHECK_PATHS") or "/tmp/check-paths.txt") do
  paths[#paths + 1] = line
end
local i = 0
request = function()
  i = (i % #paths) + 1
  return wrk.format("GET", paths[i])
end
