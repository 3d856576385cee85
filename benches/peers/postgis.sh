#!/usr/bin/env bash
# PostGIS peer: a private cluster on a Unix socket, the same files loaded with
# ogr2ogr, GiST indexes, ST_AsMVT tile functions and geography KNN.
#   bash benches/peers/postgis.sh up        # initdb, start, load, index (prints load seconds)
#   bash benches/peers/postgis.sh bench SQL [seconds] [clients]   # pgbench: tps p50_ms p99_ms
#   bash benches/peers/postgis.sh rss       # resident KiB of the cluster's processes
#   bash benches/peers/postgis.sh down
# Needs postgresql-15-postgis-3 and gdal-bin (apt). Runs the server as the
# `postgres` user (initdb refuses root).
set -euo pipefail
cd "$(dirname "$0")/../.."
PGBIN=/usr/lib/postgresql/15/bin
DIR=/tmp/tuilerie-pg
SOCK=/tmp/tuilerie-pg-sock
PORT=15432
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PGDATABASE=bench
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
shared="${TUILERIE_SHARED_DATA:-$PWD/../shared/data}"

case "${1:-}" in
up)
  rm -rf "$DIR" "$SOCK"; mkdir -p "$DIR" "$SOCK"; chown postgres "$DIR" "$SOCK" 2>/dev/null || true
  as_pg "$PGBIN/initdb" -D "$DIR" -U postgres -A trust >/dev/null
  as_pg ${SRV:-} "$PGBIN/pg_ctl" -D "$DIR" -l "$DIR/log" -w \
    -o "-k $SOCK -p $PORT -c listen_addresses='' -c shared_buffers=1GB -c max_connections=100 -c jit=off -c fsync=off -c synchronous_commit=off" start >/dev/null
  psql -q -d postgres -c "CREATE DATABASE bench" >/dev/null
  psql -q -c "CREATE EXTENSION postgis" >/dev/null
  start=$(date +%s.%N)
  pg="PG:host=$SOCK port=$PORT dbname=bench user=postgres"
  for spec in "communes:$shared/gironde/communes-33.geojson" "decheteries:$shared/gironde/decheteries-6element.geojson" \
              "points:$PWD/bench-data/containers-france-1000000.geojson" \
              "communes_france:$PWD/bench-data/communes-france.geojson"; do
    name="${spec%%:*}"; file="${spec#*:}"
    ogr2ogr -f PostgreSQL "$pg" "$file" -nln "$name" -lco GEOMETRY_NAME=geom4326 -lco SPATIAL_INDEX=NONE \
      -lco FID=fid -gt 65536 --config PG_USE_COPY YES -nlt PROMOTE_TO_MULTI
    cols=$(psql -Atq -c "SELECT string_agg('t.' || quote_ident(column_name), ', ') FROM information_schema.columns WHERE table_name = '$name' AND column_name NOT IN ('geom4326')")
    psql -q <<SQL
ALTER TABLE $name ADD COLUMN geom geometry(Geometry, 3857);
UPDATE $name SET geom = ST_Transform(geom4326, 3857);
ALTER TABLE $name ADD COLUMN geog geography;
UPDATE $name SET geog = geom4326::geography;
CREATE INDEX ${name}_geom ON $name USING gist (geom);
CREATE INDEX ${name}_geog ON $name USING gist (geog);
VACUUM ANALYZE $name;
CREATE OR REPLACE FUNCTION tile_$name(z int, x int, y int) RETURNS bytea AS \$\$
  SELECT ST_AsMVT(q, '$name', 4096, 'g', 'fid') FROM (
    SELECT $cols, ST_AsMVTGeom(t.geom, ST_TileEnvelope(z, x, y), 4096, 64, true) AS g
    FROM $name t WHERE t.geom && ST_TileEnvelope(z, x, y, margin => 64.0 / 4096)) q
  WHERE q.g IS NOT NULL
\$\$ LANGUAGE sql STABLE PARALLEL SAFE;
SQL
  done
  end=$(date +%s.%N)
  # Workload tables: the committed tile lists and nearest queries.
  psql -q -c "CREATE TABLE wl_tiles (list text, id int, z int, x int, y int)"
  for list in benches/workloads/tiles-*.txt; do
    base=$(basename "$list" .txt)
    awk -F/ -v l="$base" '{printf "%s\t%d\t%s\t%s\t%s\n", l, NR, $1, $2, $3}' "$list" | psql -q -c "COPY wl_tiles FROM STDIN"
  done
  sed -E 's/.*lon=([-0-9.]+)&lat=([-0-9.]+).*/\1\t\2/' benches/workloads/nearest-france.txt | awk '{printf "%d\t%s\n", NR, $0}' \
    | { psql -q -c "CREATE TABLE wl_nearest (id int, lon float8, lat float8)"; psql -q -c "COPY wl_nearest FROM STDIN"; }
  grep -n "accepts=glass" benches/workloads/nearest-france.txt | cut -d: -f1 | awk '{print $1}' \
    | { psql -q -c "CREATE TABLE wl_glass (id int)"; psql -q -c "COPY wl_glass FROM STDIN"; }
  echo "$end - $start" | bc
  ;;
bench)
  sql=$(realpath "$2"); secs="${3:-10}"; clients="${4:-32}"
  logdir=$(mktemp -d)
  out=$(cd "$logdir" && ${LOADGEN:-} pgbench -n -c "$clients" -j 2 -T "$secs" -f "$sql" -l --log-prefix=tx 2>&1)
  tps=$(echo "$out" | awk '/^tps/ {print $3; exit}')
  # Per-transaction log: 3rd field is the latency in microseconds.
  read -r p50 p99 < <(cat "$logdir"/tx* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f %.2f\n", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}')
  rm -rf "$logdir"
  echo "$tps $p50 $p99"
  ;;
rss)
  pids=$(pgrep -u postgres -f "tuilerie-pg" || true)
  total=0; for p in $pids; do r=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); total=$((total + r)); done
  echo "$total"
  ;;
down)
  as_pg "$PGBIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 up|bench SQL [seconds] [clients]|rss|down" >&2; exit 2
  ;;
esac
