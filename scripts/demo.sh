#!/usr/bin/env bash
# One command to set up and serve the demo data in data/:
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
echo "demo: building (the first build compiles PROJ, about 5 minutes)"
cargo build --release --locked -p tuilerie-server
echo "demo: serving data/ — open http://127.0.0.1:8080/ in a browser (Ctrl-C to stop)"
exec "$CARGO_TARGET_DIR/release/tuilerie" serve --config data/tuilerie.toml "$@"
