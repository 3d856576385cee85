#!/usr/bin/env bash
# /nearest of two tuilerie binaries side by side, each run paired with the
# static handler (benches/http/load.sh's ceiling) just after it, with the
# server's CPU time per request (from /proc, so a drifting VM's throughput
# and the cost of one request can be told apart). Server on core 1, wrk on
# core 0, the 1M points of bench-data/ (scripts/make_data.py --bench).
#   bash benches/http/nearest_ab.sh OLD_BINARY NEW_BINARY [rounds=5] [duration=8]
# QUERIES=glass takes the workload's accepts=glass queries instead of those
# without a filter; LAYERS=load serves load.sh's three layers, not the
# points alone. Each run prints req/s and the server's CPU µs a request,
# with its user-space part in brackets (the kernel's part moves with how
# often wrk must be woken, the user part with our code).
# e.g. a build of the commit before a change copied aside, and this one:
#   git stash; cargo build --release -p tuilerie-server --bin tuilerie; cp $T/release/tuilerie /tmp/old; git stash pop
set -euo pipefail
cd "$(dirname "$0")/../.."
a=$1; b=$2; rounds=${3:-5}; secs=${4:-8}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk"; exit 2; }
cargo build --release -q -p tuilerie-server --example static_ceiling
dir=$(mktemp -d)
shared=$(realpath "${TUILERIE_SHARED_DATA:-../shared/data}")
source benches/http/layers.sh
for port in 18090 18091; do
  # LAYERS=load: the three layers of load.sh's server (the queries ask for
  # the points only).
  { printf '[server]\naddr = "127.0.0.1:%s"\nsnapshots = ""\n' "$port"
    if [ "${LAYERS:-points}" = load ]; then load_layers; else points_layer; fi
  } > "$dir/$port.toml"
done
RUST_LOG=warn taskset -c 1 "$a" serve --config "$dir/18090.toml" >/dev/null 2>&1 & pa=$!
RUST_LOG=warn taskset -c 1 "$b" serve --config "$dir/18091.toml" >/dev/null 2>&1 & pb=$!
taskset -c 1 "$CARGO_TARGET_DIR/release/examples/static_ceiling" 127.0.0.1:18081 >/dev/null 2>&1 & ps=$!
trap 'kill $pa $pb $ps 2>/dev/null; rm -rf "$dir"' EXIT
for port in 18090 18091 18081; do until curl -s -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.3; done; done
if [ "${QUERIES:-all}" = glass ]; then
  grep accepts=glass benches/workloads/nearest-france.txt > "$dir/all.txt"
else
  grep -v accepts= benches/workloads/nearest-france.txt > "$dir/all.txt"
fi
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
uticks() { awk '{print $14}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# req/s and server CPU µs a request (user µs in brackets) of one wrk run
# against pid $1.
run() {
  local pid=$1; shift
  local t0 u0 r t1 u1
  t0=$(ticks "$pid"); u0=$(uticks "$pid")
  r=$(taskset -c 0 wrk -t2 -c32 -d"${secs}s" "$@" | awk '/Requests/ {print $2}')
  t1=$(ticks "$pid"); u1=$(uticks "$pid")
  echo "$r $(echo "scale=2; ($t1 - $t0) * 1000000 / $hz / ($r * $secs)" | bc)" \
    "($(echo "scale=2; ($u1 - $u0) * 1000000 / $hz / ($r * $secs)" | bc))"
}
nearest() { run "$1" -s benches/http/urls.lua "http://127.0.0.1:$2" -- "$dir/all.txt" "" none; }
static() { run "$ps" http://127.0.0.1:18081/static; }
# Every server answers once before the rounds (pages faulted in, memos filled).
static >/dev/null; nearest "$pa" 18090 >/dev/null; nearest "$pb" 18091 >/dev/null
printf "%-30s %-30s %-30s %-30s %s\n" "A req/s, cpu µs (user)" "static" "B req/s, cpu µs (user)" "static" "share A, B"
for _ in $(seq "$rounds"); do
  read -r ar ac au < <(nearest "$pa" 18090); read -r s1 c1 u1 < <(static)
  read -r br bc bu < <(nearest "$pb" 18091); read -r s2 c2 u2 < <(static)
  printf "%-30s %-30s %-30s %-30s %s\n" "$ar, $ac $au" "$s1, $c1 $u1" "$br, $bc $bu" "$s2, $c2 $u2" \
    "$(echo "scale=3; $ar / $s1" | bc), $(echo "scale=3; $br / $s2" | bc)"
done
