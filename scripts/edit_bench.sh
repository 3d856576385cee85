#!/usr/bin/env bash
# Acknowledged edits per second with 32 concurrent clients, group commit
# against one fsync per write, same binary, same disk, same run:
#   bash scripts/edit_bench.sh [SECONDS] [BINARY]
# Each mode gets a fresh store and serves the demo collection points as an
# editable layer; wrk (benches/load/edits.lua) creates features for SECONDS.
# Prints one JSON line per mode (requests, p50/p99 latency, store bytes per
# edit) and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
BIN="${2:-${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}/release/tuilerie}"
[ -x "$BIN" ] || { echo "edit_bench: no binary at $BIN (cargo build --release)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/tuilerie-edit-bench-XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
declare -A rate
for mode in true false; do
  dir="$tmp/$mode"
  mkdir -p "$dir"
  cat > "$dir/bench.toml" <<TOML
[server]
write_rate = 0
group_commit = $mode
watch = false

[[layers]]
path = "$PWD/data/points-collecte-synthetiques.geojson"
id = "points"
editable = true
TOML
  token=$("$BIN" token create --role admin --data-dir "$dir/store")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  RUST_LOG=warn "$BIN" serve --config "$dir/bench.toml" --data-dir "$dir/store" --addr "127.0.0.1:$port" 2>"$dir/server.log" &
  pid=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  out=$(TUILERIE_TOKEN="$token" wrk -t2 -c32 -d"${SECS}s" --latency -s benches/load/edits.lua "http://127.0.0.1:$port")
  # Transactions (one fsync each) and the writes they carried, from the
  # committer's histograms.
  metrics=$(curl -sf "http://127.0.0.1:$port/metrics" || true)
  txns=$(echo "$metrics" | awk '/^tuilerie_store_batch_writes_count/ {print $2}')
  carried=$(echo "$metrics" | awk '/^tuilerie_store_batch_writes_sum/ {print $2}')
  commit_s=$(echo "$metrics" | awk '/^tuilerie_store_commit_seconds_sum/ {print $2}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  line=$(echo "$out" | sed -n 's/^JSON //p')
  edits=$(sqlite3 "$dir/store/tuilerie.db" "select count(*) from changes")
  bytes=$(du -cb "$dir/store"/tuilerie.db* | tail -1 | cut -f1)
  per_txn=$(python3 -c "import sys; t,w,c=(float(x or 0) for x in sys.argv[1:]); print(f'\"transactions\": {t:.0f}, \"writes_per_transaction\": {w/max(t,1):.1f}, \"commit_ms_mean\": {1e3*c/max(t,1):.3f}')" "$txns" "$carried" "$commit_s")
  echo "{\"group_commit\": $mode, \"stored_edits\": $edits, \"store_bytes_per_edit\": $((bytes / (edits > 0 ? edits : 1))), $per_txn, ${line#\{}"
  rate[$mode]=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['requests']/d['seconds'])" "$line")
done
python3 -c "import sys; g,o=float(sys.argv[1]),float(sys.argv[2]); print(f'group commit {g:.0f}/s, one fsync per write {o:.0f}/s: {g/o:.1f}x')" "${rate[true]}" "${rate[false]}"
