-- wrk script: replays a fixed tile list, round robin, asking for gzip.
-- wrk ... -s benches/http/urls.lua URL -- LIST.txt PREFIX [SUFFIX]
-- (SUFFIX defaults to ".mvt"; "none" for full paths such as nearest queries)
local paths = {}
local i = 0
function init(args)
  local suffix = args[3] or ".mvt"
  if suffix == "none" then suffix = "" end
  for line in io.lines(args[1]) do
    paths[#paths + 1] = args[2] .. line .. suffix
  end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
