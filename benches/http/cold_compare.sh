#!/usr/bin/env bash
# Cold tiles over HTTP (tile cache off): requests/s of the working tree's
# binary against those of revision REV (built from a temporary worktree),
# in one run, each run of one paired with a run of the other, on the
# million-point layer at z14 (Bordeaux) and the Gironde communes at z10.
#   bash benches/http/cold_compare.sh REV [duration=10s] [connections=32] [runs=3]
# Issue 21 asks new tiles (zlib-rs compression, 13e4b9e) to be at least
# 1.5 times faster than before: bash benches/http/cold_compare.sh 13e4b9e^
# Needs wrk and bench-data/ (scripts/make_data.py --bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
rev="${1:?usage: cold_compare.sh REV [duration] [connections] [runs]}"
dur="${2:-10s}"; conns="${3:-32}"; runs="${4:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk"; exit 2; }
shared=$(realpath "${TUILERIE_SHARED_DATA:-../shared/data}")
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; git worktree remove --force "$work/tree" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# The revision's binary (same target directory: the dependencies are reused).
git worktree add -q --detach "$work/tree" "$rev"
npm ci --prefix "$work/tree/crates/tuilerie-server/web" --no-audit --no-fund --loglevel=error >/dev/null
(cd "$work/tree" && cargo build --release -q -p tuilerie-server --bin tuilerie)
cp "$CARGO_TARGET_DIR/release/tuilerie" "$work/before"
cargo build --release -q -p tuilerie-server --bin tuilerie
cp "$CARGO_TARGET_DIR/release/tuilerie" "$work/after"
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ]; then SRV="taskset -c 1"; LOADGEN="taskset -c 0"; else SRV=""; LOADGEN=""; fi
start() { # name port
  mkdir -p "$work/$1-data"
  cat > "$work/$1.toml" <<TOML
[server]
addr = "127.0.0.1:$2"
data_dir = "$work/$1-data"
[tiles]
cache_mb = 0
[[layers]]
path = "$shared/gironde/communes-33.geojson"
id = "communes"
[[layers]]
path = "$PWD/bench-data/containers-france-1000000.geojson"
id = "points"
TOML
  RUST_LOG=warn $SRV "$work/$1" serve --config "$work/$1.toml" & pids+=($!)
  until curl -sf "http://127.0.0.1:$2/health" >/dev/null; do sleep 0.2; done
}
start before 18090
start after 18091
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rps() { $LOADGEN wrk -t2 -c"$conns" -d"$dur" -s benches/http/urls.lua "$@" | awk '/Requests/ {print $2}'; }
printf "%-26s %12s %12s %7s   %s\n" "workload (cache off)" "$rev req/s" "now req/s" "ratio" "runs (before/now)"
for spec in "points:tiles-bordeaux-z14" "communes:tiles-gironde-z10"; do
  layer="${spec%%:*}"; list="benches/workloads/${spec#*:}.txt"
  before=(); after=(); ratios=()
  for _ in $(seq "$runs"); do
    a=$(rps http://127.0.0.1:18090 -- "$list" "/tiles/$layer/"); b=$(rps http://127.0.0.1:18091 -- "$list" "/tiles/$layer/")
    before+=("$a"); after+=("$b"); ratios+=("$(echo "scale=4; $b / $a" | bc)")
  done
  printf "%-26s %12s %12s %7s   %s\n" "$layer ${spec#*:}" "$(printf '%s\n' "${before[@]}" | median)" \
    "$(printf '%s\n' "${after[@]}" | median)" "$(printf '%s\n' "${ratios[@]}" | median | awk '{printf "%.2f", $1}')" \
    "$(paste -d/ <(printf '%s\n' "${before[@]}") <(printf '%s\n' "${after[@]}") | tr '\n' ' ')"
done
