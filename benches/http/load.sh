#!/usr/bin/env bash
# HTTP load test: hot-cache tile requests/s and nearest queries/s of tuilerie against a trivial
# axum handler returning a static 500-byte body (the ceiling), same wrk
# settings, on loopback. Needs wrk (apt) and bench-data/ (scripts/make_data.py --bench).
#   bash benches/http/load.sh [duration=10s] [connections=32] [runs=3]
# ONLY=regex limits the run to the workloads whose label matches (e.g. ONLY=nearest).
set -euo pipefail
cd "$(dirname "$0")/../.."
dur="${1:-10s}"; conns="${2:-32}"; runs="${3:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk"; exit 2; }
cargo build --release -q -p tuilerie-server --bin tuilerie --example static_ceiling
bin="$CARGO_TARGET_DIR/release"
shared=$(realpath "${TUILERIE_SHARED_DATA:-../shared/data}")
cfg=$(mktemp --suffix .toml)
source benches/http/layers.sh
{ printf '[server]\naddr = "127.0.0.1:18080"\n'; load_layers; } > "$cfg"
# Server on one core, wrk on the other (PIN=0 turns it off), as benches/peers/run.sh.
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ]; then SRV="taskset -c 1"; LOADGEN="taskset -c 0"; else SRV=""; LOADGEN=""; fi
RUST_LOG=warn $SRV "$bin/tuilerie" serve --config "$cfg" & tpid=$!
$SRV "$bin/examples/static_ceiling" 127.0.0.1:18081 & spid=$!
trap 'kill $tpid $spid 2>/dev/null' EXIT
until curl -sf http://127.0.0.1:18080/health >/dev/null; do sleep 0.2; done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rps() { $LOADGEN wrk -t2 -c"$conns" -d"$dur" "$@" | awk '/Requests/ {print $2}'; }
# This VM's throughput drifts by 10-20% over minutes, so every run of a
# workload is paired with a run of the static handler just after it, and the
# share is the median of the per-pair ratios.
measure() { # label, then wrk arguments
  local label=$1; shift
  [[ "$label" =~ ${ONLY:-.} ]] || return 0
  local ours=() ceiling=() ratios=()
  for _ in $(seq "$runs"); do
    local a b
    a=$(rps "$@"); b=$(rps http://127.0.0.1:18081/static)
    ours+=("$a"); ceiling+=("$b"); ratios+=("$(echo "scale=4; $a / $b" | bc)")
  done
  printf "%-30s %12s %12s %7s   %s\n" "$label" "$(printf '%s\n' "${ours[@]}" | median)" \
    "$(printf '%s\n' "${ceiling[@]}" | median)" "$(printf '%s\n' "${ratios[@]}" | median | awk '{printf "%.0f%%", $1 * 100}')" \
    "$(paste -d/ <(printf '%s\n' "${ours[@]}") <(printf '%s\n' "${ceiling[@]}") | tr '\n' ' ')"
}
printf "%-30s %12s %12s %7s   %s\n" "workload" "req/s" "static req/s" "share" "runs (ours/static)"
for spec in "communes:tiles-gironde-z6" "communes:tiles-gironde-z10" "communes:tiles-bordeaux-z14" \
            "decheteries:tiles-gironde-z6" "decheteries:tiles-gironde-z10" "decheteries:tiles-bordeaux-z14" \
            "points:tiles-france-z6" "points:tiles-gironde-z10" "points:tiles-bordeaux-z14"; do
  layer="${spec%%:*}"; list="benches/workloads/${spec#*:}.txt"
  [[ "$layer ${spec#*:} (hot)" =~ ${ONLY:-.} ]] || continue
  # Warm the cache: every tile once.
  while read -r t; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:18080/tiles/$layer/$t.mvt"; done < "$list"
  measure "$layer ${spec#*:} (hot)" -s benches/http/urls.lua http://127.0.0.1:18080 -- "$list" "/tiles/$layer/"
done
grep -v accepts= benches/workloads/nearest-france.txt > "$cfg.all"
grep accepts=glass benches/workloads/nearest-france.txt > "$cfg.glass"
measure "nearest k=5 (all)" -s benches/http/urls.lua http://127.0.0.1:18080 -- "$cfg.all" "" none
measure "nearest k=5 (glass)" -s benches/http/urls.lua http://127.0.0.1:18080 -- "$cfg.glass" "" none
