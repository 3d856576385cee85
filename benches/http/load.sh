#!/usr/bin/env bash
# HTTP load test: hot-cache tile requests/s and nearest queries/s of tuilerie against a trivial
# axum handler returning a static 500-byte body (the ceiling), same wrk
# settings, on loopback. Needs wrk (apt) and bench-data/ (scripts/make_data.py --bench).
#   bash benches/http/load.sh [duration=10s] [connections=32] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10s}"; conns="${2:-32}"; runs="${3:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk"; exit 2; }
cargo build --release -q -p tuilerie-server --bin tuilerie --example static_ceiling
bin="$CARGO_TARGET_DIR/release"
shared="${TUILERIE_SHARED_DATA:-../shared/data}"
cfg=$(mktemp --suffix .toml)
cat > "$cfg" <<TOML
[server]
addr = "127.0.0.1:18080"
[[layers]]
path = "$PWD/$shared/gironde/communes-33.geojson"
id = "communes"
[[layers]]
path = "$PWD/$shared/gironde/decheteries-6element.geojson"
id = "decheteries"
[[layers]]
path = "$PWD/bench-data/containers-france-1000000.geojson"
id = "points"
TOML
RUST_LOG=warn "$bin/tuilerie" serve --config "$cfg" & tpid=$!
"$bin/examples/static_ceiling" 127.0.0.1:18081 & spid=$!
trap 'kill $tpid $spid 2>/dev/null' EXIT
until curl -sf http://127.0.0.1:18080/health >/dev/null; do sleep 0.2; done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rps() { wrk -t2 -c"$conns" -d"$dur" "$@" | awk '/Requests\/sec/ {print $2}'; }
printf "%-28s %14s %s\n" "workload" "req/s (median)" "runs"
for spec in "communes:tiles-gironde-z6" "communes:tiles-gironde-z10" "communes:tiles-bordeaux-z14" \
            "points:tiles-france-z6" "points:tiles-gironde-z10" "points:tiles-bordeaux-z14"; do
  layer="${spec%%:*}"; list="benches/workloads/${spec#*:}.txt"
  # Warm the cache: every tile once.
  while read -r t; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:18080/tiles/$layer/$t.mvt"; done < "$list"
  all=(); for _ in $(seq "$runs"); do all+=("$(rps -s benches/http/urls.lua http://127.0.0.1:18080 -- "$list" "/tiles/$layer/")"); done
  printf "%-28s %14s %s\n" "$layer ${spec#*:}" "$(printf '%s\n' "${all[@]}" | median)" "${all[*]}"
done
all=(); for _ in $(seq "$runs"); do all+=("$(rps -s benches/http/urls.lua http://127.0.0.1:18080 -- benches/workloads/nearest-france.txt "" none)"); done
printf "%-28s %14s %s\n" "nearest k=5 (1M points)" "$(printf '%s\n' "${all[@]}" | median)" "${all[*]}"
all=(); for _ in $(seq "$runs"); do all+=("$(rps http://127.0.0.1:18081/static)"); done
printf "%-28s %14s %s\n" "static 500-byte handler" "$(printf '%s\n' "${all[@]}" | median)" "${all[*]}"
