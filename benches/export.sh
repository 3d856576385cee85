#!/usr/bin/env bash
# Tile archive export side by side with martin-cp, on the same files, zooms
# and box, one layer per archive: the Gironde communes, the déchèteries and
# the 1,000,000-point France layer, zooms 0-14 over Gironde.
#
#   bash benches/export.sh [maxzoom=14] [runs=3] [martin_timeout_s=600]
#
# Prints, per layer: tuilerie export to MBTiles and to PMTiles, martin-cp to
# MBTiles (normalized: deduplicated, as ours), wall time (median of 3 runs),
# tiles written and archive bytes. Once: python3 scripts/make_data.py
# --bench; martin-cp from `cargo install martin --version 1.14.0 --locked
# --root ~/.cache/peers --no-default-features --features mbtiles,geojson`
# (without it, tuilerie alone is measured). A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
maxzoom="${1:-14}"; runs="${2:-3}"; limit="${3:-600}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
export PATH="$HOME/.cache/peers/bin:$PATH"
shared="${TUILERIE_SHARED_DATA:-$PWD/../shared/data}"
bbox="-1.27,44.19,0.32,45.58"
C="$shared/gironde/communes-33.geojson"; D="$shared/gironde/decheteries-6element.geojson"
P="$PWD/bench-data/containers-france-1000000.geojson"
[ -f "$P" ] || { echo "missing $P: python3 scripts/make_data.py --bench"; exit 2; }
cargo build --release -q --locked -p tuilerie-server --bin tuilerie
bin="$CARGO_TARGET_DIR/release/tuilerie"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Wall seconds of "$@" (its output kept in $work/last.log).
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >"$work/last.log" 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
have_martin=0; command -v martin-cp >/dev/null && have_martin=1
printf "%-12s %-22s %9s %9s %12s\n" layer tool seconds tiles bytes
for m in communes:"$C" decheteries:"$D" points-1m:"$P"; do
  name="${m%%:*}"; file="${m#*:}"
  for fmt in mbtiles pmtiles; do
    out="$work/$name.$fmt"
    t=$(for _ in $(seq "$runs"); do rm -f "$out"; timed "$bin" export "$file" -o "$out" --bbox="$bbox" --maxzoom "$maxzoom"; done | median)
    [ -f "$out" ] || { cat "$work/last.log"; exit 1; }
    tiles=$(grep -o '[0-9]* written' "$work/last.log" | grep -o '[0-9]*')
    printf "%-12s %-22s %9.2f %9s %12s\n" "$name" "tuilerie export $fmt" "$t" "$tiles" "$(stat -c %s "$out")"
  done
  if [ "$have_martin" = 1 ]; then
    out="$work/$name-martin.mbtiles"
    # martin-cp on the 1M points is slow (its GeoJSON source is not an
    # index): each run is bounded, and a run cut short is reported so.
    t=$(for _ in $(seq "$runs"); do rm -f "$out"; timed timeout "$limit" martin-cp --output-file "$out" --mbtiles-type normalized \
      --concurrency "$(nproc)" --bbox="$bbox" --min-zoom 0 --max-zoom "$maxzoom" "$file" || echo "$limit"; done | median)
    if ! grep -q "" "$out" 2>/dev/null || [ "$(echo "$t >= $limit" | bc -l)" = 1 ]; then
      printf "%-12s %-22s %9s %9s %12s\n" "$name" "martin-cp mbtiles" ">$limit" "-" "-"
      continue
    fi
    tiles=$(sqlite3 "$out" "SELECT count(*) FROM tiles")
    printf "%-12s %-22s %9.2f %9s %12s\n" "$name" "martin-cp mbtiles" "$t" "$tiles" "$(stat -c %s "$out")"
  fi
done
