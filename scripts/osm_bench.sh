#!/usr/bin/env bash
# OSM PBF read throughput, side by side with osmium on the same file and
# filter, in the same run:
#   bash scripts/osm_bench.sh [FILE.osm.pbf] [RUNS]
# Default file: bench-data/france-bench.osm.pbf, built when missing by
# scripts/make_osm_bench.py (about 1 GB, 20 minutes). Prints, as medians of
# RUNS (default 3):
# - osmium tags-filter nwr/amenity=recycling (with the nodes of the kept
#   ways, as tuilerie keeps them), to an .osm.pbf and to OPL;
# - tuilerie's read + filter through the waste profile (three layers, one
#   read), then read + filter + layers built and indexed;
# - peak resident memory of each (GNU time / VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
file="${1:-bench-data/france-bench.osm.pbf}"
runs="${2:-3}"
[ -f "$file" ] || python3 scripts/make_osm_bench.py --out "$file"
cargo build --release --locked -q -p tuilerie-geo --example osm_read
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
size_mb=$(python3 -c "import os,sys; print(os.path.getsize(sys.argv[1]) / 1e6)" "$file")
filter=(nwr/amenity=recycling,waste_disposal,waste_basket)
osmium_run() { # label, output
  local times=() rss=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$out/time" osmium tags-filter -O "$file" "${filter[@]}" -o "$2" 2>/dev/null
    read -r t m < "$out/time"
    times+=("$t"); rss=$m
  done
  python3 - "$1" "$size_mb" "$rss" "${times[@]}" <<'PY'
import statistics, sys
label, size, rss, times = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), [float(t) for t in sys.argv[4:]]
m = statistics.median(times)
print(f"{label:44s} {m:7.2f} s  {size / m:7.1f} MB/s  peak RSS {rss / 1024:7.0f} MB")
PY
}
echo "file: $file ($size_mb MB), $(nproc) cores, median of $runs"
osmium_run "osmium tags-filter -> .osm.pbf" "$out/f.osm.pbf"
osmium_run "osmium tags-filter -> .opl" "$out/f.opl"
"$CARGO_TARGET_DIR/release/examples/osm_read" "$file" "$runs" > "$out/ours.json"
python3 - "$out/ours.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = [
    ("tuilerie read + filter (3 layers)", r["scan_s"], r["scan_mb_per_s"], r["peak_rss_mb_scan"]),
    ("tuilerie read + filter + build + index", r["load_s"], r["file_mb"] / r["load_s"], r["peak_rss_mb"]),
]
for label, t, rate, rss in rows:
    print(f"{label:44s} {t:7.2f} s  {rate:7.1f} MB/s  peak RSS {rss:7.0f} MB")
print("kept:", r["kept"], "layers:", r["layers"])
PY
