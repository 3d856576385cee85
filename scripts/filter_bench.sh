#!/usr/bin/env bash
# CQL2 filters and answers in another CRS, measured on the release binary,
# side by side with PostGIS in the same run:
#   bash scripts/filter_bench.sh [SECONDS] [CLIENTS]     (default 10 s, 32)
#
# 1. Items of the 1,000,000-point layer (bench-data/, built by
#    scripts/make_data.py --bench when missing), first page of 100 with
#    numberMatched, under a property comparison ("recycling:glass" = 'yes')
#    and under S_INTERSECTS with the commune of Bordeaux (its polygon as a
#    WKT literal, 1,000+ vertices): wrk against tuilerie, pgbench against
#    PostGIS (benches/peers/postgis.sh: same file, GiST index) answering
#    the same page and count as GeoJSON.
# 2. Items of the Gironde communes (100 polygons a page) in CRS84 and in
#    Lambert-93 (crs=EPSG:2154): the cost of reprojecting an answer.
# Prints requests per second and latency medians; needs wrk, pgbench,
# postgresql-15-postgis-3, gdal-bin and bc (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
clients="${2:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
export TUILERIE_SHARED_DATA="${TUILERIE_SHARED_DATA:-$PWD/../shared/data}"
points=bench-data/containers-france-1000000.geojson
[ -f "$points" ] || python3 scripts/make_data.py --bench
cargo build --release --locked -q -p tuilerie-server --bin tuilerie
bin="$CARGO_TARGET_DIR/release/tuilerie"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { kill "${pid:-}" 2>/dev/null || true; bash benches/peers/postgis.sh down; rm -rf "$work"; }
trap cleanup EXIT

# The Bordeaux polygon as WKT, and each filter URL-encoded.
python3 - "$TUILERIE_SHARED_DATA/gironde/communes-33.geojson" "$work" <<'PY'
import json, sys, urllib.parse
src, out = sys.argv[1], sys.argv[2]
f = next(f for f in json.load(open(src))["features"] if f["properties"].get("nom") == "Bordeaux")
g = f["geometry"]
polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
wkt = "MULTIPOLYGON(" + ",".join("(" + ",".join("(" + ",".join(f"{x} {y}" for x, y in ring) + ")" for ring in p) + ")" for p in polys) + ")"
open(f"{out}/bordeaux.wkt", "w").write(wkt)
for name, flt in [("property", "\"recycling:glass\" = 'yes'"), ("spatial", f"S_INTERSECTS(geometry, {wkt})")]:
    open(f"{out}/{name}.url", "w").write("filter=" + urllib.parse.quote(flt, safe=""))
print(f"Bordeaux: {sum(len(r) for p in polys for r in p)} vertices", file=sys.stderr)
PY

"$bin" serve "$points" "$TUILERIE_SHARED_DATA/gironde/communes-33.geojson" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
base="http://127.0.0.1:$port/collections"

wrk_run() { # label, url
  out=$(wrk -t2 -c"$clients" -d"${secs}s" --latency "$2")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf "%-44s %10s req/s  p50 %8s %s\n" "$1" "$rps" "$p50" "${non2xx:+(non-2xx: $non2xx)}"
}

echo "== CQL2 filters, 1,000,000 points, first page of 100 with numberMatched ($secs s, $clients clients)"
for name in property spatial; do
  body=$(curl -s "$base/containers-france-1000000/items?limit=100&$(cat "$work/$name.url")")
  echo "tuilerie $name: numberMatched $(echo "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')"
  wrk_run "tuilerie $name" "$base/containers-france-1000000/items?limit=100&$(cat "$work/$name.url")"
done

echo "loading PostGIS..."
bash benches/peers/postgis.sh up >"$work/pg.log" 2>&1
export PGHOST=/tmp/tuilerie-pg-sock PGPORT=15432 PGUSER=postgres PGDATABASE=bench
glass=$(psql -Atq -c "SELECT column_name FROM information_schema.columns WHERE table_name = 'points' AND column_name LIKE 'recycling%glass' ORDER BY length(column_name) LIMIT 1")
page() { # WHERE clause -> the same answer as an items page: count and 100 features as GeoJSON
  cat <<SQL
SELECT json_build_object('numberMatched', (SELECT count(*) FROM points WHERE $1),
  'features', (SELECT json_agg(json_build_object('type', 'Feature', 'id', t.fid, 'geometry', ST_AsGeoJSON(t.geom4326)::json,
     'properties', to_jsonb(t) - 'geom4326' - 'geom' - 'geog' - 'fid'))
   FROM (SELECT * FROM points WHERE $1 ORDER BY fid LIMIT 100) t))::text;
SQL
}
page "\"$glass\" = 'yes'" >"$work/property.sql"
# The indexed column (GiST on geom, Web Mercator), the literal transformed once.
page "ST_Intersects(geom, ST_Transform(ST_GeomFromText('$(cat "$work/bordeaux.wkt")', 4326), 3857))" >"$work/spatial.sql"
for name in property spatial; do
  echo "PostGIS $name: numberMatched $(psql -Atq -f "$work/$name.sql" | python3 -c 'import json,sys; print(json.load(sys.stdin)["numberMatched"])')"
  read -r tps p50 p99 < <(bash benches/peers/postgis.sh bench "$work/$name.sql" "$secs" "$clients")
  printf "%-44s %10s req/s  p50 %8s ms\n" "PostGIS $name" "$tps" "$p50"
done
bash benches/peers/postgis.sh down

echo "== items of the Gironde communes, 100 polygons a page ($secs s, $clients clients)"
wrk_run "tuilerie communes CRS84" "$base/communes-33/items?limit=100"
wrk_run "tuilerie communes crs=EPSG:2154" "$base/communes-33/items?limit=100&crs=EPSG%3A2154"
wrk_run "tuilerie communes crs=EPSG:3857" "$base/communes-33/items?limit=100&crs=EPSG%3A3857"
