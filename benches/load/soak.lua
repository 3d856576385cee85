-- wrk script of scripts/soak.py: a mix of tiles, /nearest, items, maps
-- and malformed requests, chosen at random per request; counts answers
-- by class so the soak can fail on any 5xx.
local paths = {}
local function add(weight, p) for _ = 1, weight do paths[#paths + 1] = p end end

math.randomseed(os.time())
-- Tiles around Bordeaux from z8 to z14 (a bounded set: the cache warms in
-- the first minute, so memory must then stay flat).
for z = 8, 14 do
  local n = 2 ^ z
  local cx = math.floor((-0.58 + 180) / 360 * n)
  local lat = math.rad(44.84)
  local cy = math.floor((1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * n)
  for dx = -2, 2 do for dy = -2, 2 do
    add(1, string.format("/tiles/communes,points-collecte/%d/%d/%d.mvt", z, cx + dx, cy + dy))
  end end
end
for i = 0, 40 do
  local lon, lat = -1.2 + i * 0.03, 44.4 + (i % 9) * 0.1
  add(2, string.format("/nearest?lon=%.3f&lat=%.3f&k=3&accepts=verre", lon, lat))
  add(1, string.format("/nearest?lon=%.3f&lat=%.3f&k=10&open=now", lon, lat))
end
add(20, "/collections/points-collecte/items?limit=50")
add(10, "/collections/communes/items?limit=5&offset=100")
add(10, "/collections/points-collecte/items?bbox=-0.7,44.8,-0.5,44.9")
add(5, "/maps")
add(5, "/maps/densite-population")
add(5, "/maps/densite-population/legend")
add(5, "/maps/densite-population/tiles/9/253/183.mvt")
add(5, "/waste-categories?q=frigo")
-- Malformed: each must be a 4xx, never a 5xx.
add(3, "/tiles/communes/99/1/1.mvt")
add(3, "/tiles/communes/3/9/1.mvt")
add(3, "/nearest?lon=abc&lat=44")
add(3, "/nearest?lon=0&lat=44&k=0")
add(3, "/collections/points-collecte/items?limit=-4")
add(3, "/collections/nope/items")
add(3, "/waste-categories?q=" .. string.rep("x", 500))
add(3, "/maps/%2e%2e/legend")
add(3, "/maps/densite-population.png?width=abc")

-- Global: done() reads each thread's copy with thread:get("counts").
counts = { s2 = 0, s3 = 0, s4 = 0, s5 = 0 }
local threads = {}

function setup(thread) table.insert(threads, thread) end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function response(status)
  local k = "s" .. math.floor(status / 100)
  counts[k] = (counts[k] or 0) + 1
end

function done(summary, latency, requests)
  local t = { s2 = 0, s3 = 0, s4 = 0, s5 = 0 }
  for _, th in ipairs(threads) do
    local c = th:get("counts")
    for k, v in pairs(c) do t[k] = (t[k] or 0) + v end
  end
  io.write(string.format("SOAK 2xx=%d 3xx=%d 4xx=%d 5xx=%d\n", t.s2, t.s3, t.s4, t.s5))
  io.write(string.format("SOAK errors connect=%d read=%d write=%d timeout=%d status=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status))
  io.write(string.format("SOAK latency_p50_ms=%.3f p99_ms=%.3f requests=%d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests))
end
