-- wrk script: every request creates a feature (POST, acknowledged only once
-- on disk). The token comes from TUILERIE_TOKEN, the collection from
-- TUILERIE_LAYER (default "points").
--   TUILERIE_TOKEN=... wrk -t2 -c32 -d10s --latency -s benches/load/edits.lua http://127.0.0.1:8080
local counter = 0
local layer = os.getenv("TUILERIE_LAYER") or "points"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/geo+json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TUILERIE_TOKEN") or "")

request = function()
  counter = counter + 1
  local lon = -0.7 + (counter % 2000) * 0.0001
  local lat = 44.80 + (counter % 997) * 0.0001
  local body = string.format(
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},' ..
    '"properties":{"name":"bench %d","amenity":"recycling","recycling:glass_bottles":"yes"}}',
    lon, lat, counter)
  return wrk.format(nil, "/collections/" .. layer .. "/items", nil, body)
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"errors\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
