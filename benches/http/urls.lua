-- wrk script: replays a fixed tile list, round robin, asking for gzip.
-- wrk ... -s benches/http/urls.lua URL -- LIST.txt PREFIX
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = args[2] .. line .. ".mvt"
  end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
