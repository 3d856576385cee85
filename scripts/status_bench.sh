#!/usr/bin/env bash
# Live status under load, on the release binary (same disk, same run):
#   bash scripts/status_bench.sh [SECONDS] [SUBSCRIBERS]
# 1. Durable observations per second with 32 clients, in batches of 1,000
#    (POST /observations) and as single posts, each with group commit and
#    with one fsync per request (server.group_commit = false); bytes per
#    stored observation on disk.
# 2. Hot-tile and /nearest throughput (wrk, 32 connections) without and
#    with 1,000 observations/s arriving.
# 3. SUBSCRIBERS (default 1,000) on GET /events while 1,000 observations/s
#    arrive: delivery latency from the post to each subscriber (p50, p99),
#    and the server's resident memory per subscriber
#    (crates/tuilerie-server/examples/sse_load.rs).
# Prints one JSON line per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
SUBS="${2:-1000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
cargo build --release -q -p tuilerie-server --bin tuilerie --example sse_load
BIN="$CARGO_TARGET_DIR/release/tuilerie"
LOAD="$CARGO_TARGET_DIR/release/examples/sse_load"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d /tmp/tuilerie-status-bench-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
pid=""

start() { # start GROUP_COMMIT DIR: a fresh store, the demo points as "points"
  local dir="$2"
  mkdir -p "$dir"
  cat > "$dir/bench.toml" <<TOML
[server]
write_rate = 0
group_commit = $1
watch = false
max_connections = 10000

[[layers]]
path = "$PWD/data/points-collecte-synthetiques.geojson"
id = "points"
TOML
  token=$("$BIN" token create --role sensor --data-dir "$dir/store")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  RUST_LOG=warn "$BIN" serve --config "$dir/bench.toml" --data-dir "$dir/store" --addr "127.0.0.1:$port" 2>"$dir/server.log" &
  pid=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
wrk_json() { wrk "$@" | sed -n 's/^JSON //p'; }

# 1. Observations per second.
for mode in true false; do
  for batch in 1000 1; do
    dir="$tmp/obs-$mode-$batch"
    start "$mode" "$dir"
    line=$(TUILERIE_TOKEN="$token" TUILERIE_BATCH="$batch" wrk_json -t2 -c32 -d"${SECS}s" --latency \
      -s benches/load/observations.lua "http://127.0.0.1:$port")
    stop
    stored=$(sqlite3 "$dir/store/tuilerie.db" "select count(*) from observations")
    bytes=$(du -cb "$dir/store"/tuilerie.db* | tail -1 | cut -f1)
    python3 - "$mode" "$batch" "$stored" "$bytes" "$line" <<'PY'
import json, sys
mode, batch, stored, size, line = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
print(json.dumps({"measure": "observations", "group_commit": mode == "true", "batch": batch,
                  "stored": stored, "observations_per_s": round(stored / line["seconds"]),
                  "store_bytes_per_observation": round(size / max(stored, 1)), **line}))
PY
  done
done

# 2 and 3 on one server with group commit.
start true "$tmp/live"
at="http://127.0.0.1:$port"
tile=$(python3 -c "
import math
lon, lat, z = -0.5792, 44.8378, 14
n = 2 ** z; r = math.radians(lat)
print(f'/tiles/points/{z}/{int((lon + 180) / 360 * n)}/{int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)}.mvt')")
nearest="/nearest?lon=-0.5792&lat=44.8378&k=5&accepts=verre"
# Three rounds of (alone, with observations), medians compared.
for what in "$tile" "$nearest"; do
  runs=()
  for round in 1 2 3; do
    runs+=("$(wrk_json -t2 -c32 -d"${SECS}s" -s benches/load/get.lua "$at$what")")
    "$LOAD" "127.0.0.1:$port" "$token" points 0 1000 "$((SECS + 3))" 4000 >/dev/null &
    load=$!
    sleep 1
    runs+=("$(wrk_json -t2 -c32 -d"${SECS}s" -s benches/load/get.lua "$at$what")")
    wait "$load"
  done
  python3 - "$what" "${runs[@]}" <<'PY'
import json, statistics, sys
what, runs = sys.argv[1], [json.loads(r) for r in sys.argv[2:]]
rate = lambda d: d["requests"] / d["seconds"]
alone = statistics.median(rate(r) for r in runs[0::2])
under = statistics.median(rate(r) for r in runs[1::2])
print(json.dumps({"measure": "reads_during_observations", "path": what, "alone_per_s_median": round(alone),
                  "with_1000_observations_per_s_median": round(under),
                  "change_percent": round(100 * (under / alone - 1), 1),
                  "runs_per_s": [round(rate(r)) for r in runs]}))
PY
done
echo "$("$LOAD" "127.0.0.1:$port" "$token" points "$SUBS" 1000 "$SECS" 4000 "$pid" | sed 's/^{/{"measure": "events", /')"
stop
