-- wrk script: status observations, acknowledged only once on disk.
--   TUILERIE_TOKEN=... TUILERIE_BATCH=1000 wrk -t2 -c32 -d10s --latency \
--     -s benches/load/observations.lua http://127.0.0.1:8080
-- TUILERIE_BATCH=1 (default): one observation per request on
-- /collections/{layer}/items/{fid}/observations; N > 1: POST /observations
-- with N. Features are ids 1..TUILERIE_FEATURES of TUILERIE_LAYER
-- (default "points", ids 1 to 4000); every observation is unique (its
-- source names the thread and a counter), so none is a replay.
local layer = os.getenv("TUILERIE_LAYER") or "points"
local batch = tonumber(os.getenv("TUILERIE_BATCH") or "1")
local features = tonumber(os.getenv("TUILERIE_FEATURES") or "4000")
local threads = {}
local counter = 0
-- `me` (a global) is set in each thread's state by setup: the thread's number.

setup = function(thread)
  thread:set("me", #threads + 1)
  -- (a local `me` here would hide the thread's global)
  table.insert(threads, thread)
end

init = function()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TUILERIE_TOKEN") or "")
end

local function one(with_target)
  counter = counter + 1
  local fid = 1 + (counter * 7919 + me * 104729) % features
  local obs = string.format(
    '{"kind":"fill_level","category":"glass","value":%.3f,"observed_at":"%s","source":"bench-%d-%d"',
    (counter % 1000) / 1000, os.date("!%Y-%m-%dT%H:%M:%SZ"), me, counter)
  if with_target then
    obs = obs .. string.format(',"layer":"%s","feature":"%d"', layer, fid)
  end
  return obs .. "}", fid
end

request = function()
  if batch <= 1 then
    local body, fid = one(false)
    return wrk.format(nil, string.format("/collections/%s/items/%d/observations", layer, fid), nil, body)
  end
  local items = {}
  for i = 1, batch do
    items[i] = (one(true))
  end
  return wrk.format(nil, "/observations", nil, "[" .. table.concat(items, ",") .. "]")
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
