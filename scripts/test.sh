#!/usr/bin/env bash
# One command to set up and run every test:
#   bash scripts/test.sh
# Steps: install what is missing (scripts/setup.sh), check the module
# structure (no import circle, no file over 600 lines), formatting
# (rustfmt) and lints (clippy, warnings are errors), then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"

# The shared real data: $TUILERIE_SHARED_DATA, else ../shared/data beside
# this checkout. A fresh clone elsewhere (git clone . /tmp/check, CI) finds
# it beside the repository it was cloned from, or in shared/data of a
# folder above it, or in this workplace's /work/shared/data. The tests
# themselves only read $TUILERIE_SHARED_DATA or ../shared/data.
if [ -z "${TUILERIE_SHARED_DATA:-}" ] && [ ! -d ../shared/data/gironde ]; then
  candidates=()
  origin="$(git remote get-url origin 2>/dev/null || true)"
  [ -n "$origin" ] && candidates+=("$origin/../shared/data")
  dir="$PWD"
  while [ "$dir" != "/" ]; do
    dir="$(dirname "$dir")"
    candidates+=("$dir/shared/data")
  done
  candidates+=("/work/shared/data")
  for c in "${candidates[@]}"; do
    if [ -d "$c/gironde" ]; then
      TUILERIE_SHARED_DATA="$(cd "$c" && pwd)"
      export TUILERIE_SHARED_DATA
      break
    fi
  done
fi

python3 scripts/check_modules.py
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
# Bounded forms of the long runs: API conformance (schemathesis, 30 cases
# per operation), every fuzz target for 5 s (after replaying the inputs
# of crashes found before), a 20-second soak with 200 slow idle clients,
# the resident-memory checks of tables and PNG exports, tiles during
# hostile requests and the growth of costs with input size.
bash scripts/conformance.sh 30
# OGC API Features through clients nobody here wrote (GDAL's OAPIF driver,
# OWSLib) and references (shapely, pyproj): columns, filters, CRSs.
"$(bash scripts/venv.sh)/bin/python" scripts/ogc_clients.py --binary "$CARGO_TARGET_DIR/debug/tuilerie"
# Every polygon of every tile z0-z14 over Gironde, both communes layers
# (the demo's has holes), valid by GEOS (shapely) after an independent
# decoder: MVT 2.1 4.3.4.4, no ring crossing or touching (about 30 s).
"$(bash scripts/venv.sh)/bin/python" scripts/tile_validity.py --maxzoom 14 --binary "$CARGO_TARGET_DIR/debug/tuilerie"
bash scripts/fuzz.sh 5
python3 scripts/soak.py --seconds 20 --idle 200 --binary "$CARGO_TARGET_DIR/debug/tuilerie"
python3 scripts/memory.py --binary "$CARGO_TARGET_DIR/debug/tuilerie"
python3 scripts/hostile.py --binary "$CARGO_TARGET_DIR/debug/tuilerie"
# Durability of acknowledged writes: 16 writers while the server is killed
# with SIGKILL 20 times (the debug binary; the release one is faster still).
python3 scripts/durability.py --kills 20 --writers 16 --binary "$CARGO_TARGET_DIR/debug/tuilerie"
# Three replicas on one PostgreSQL behind nginx (deploy/nginx/tuilerie.conf
# itself), writers and readers through nginx and directly, one replica
# killed with SIGKILL and started again: no acknowledged write lost, every
# replica serving the same items and tiles at the end.
python3 scripts/replicas.py --replicas 3 --seconds 10 --binary "$CARGO_TARGET_DIR/debug/tuilerie"
