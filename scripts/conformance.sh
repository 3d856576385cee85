#!/usr/bin/env bash
# API conformance: schemathesis (every check) against /openapi.json of the
# real binary serving the demo data, on a free loopback port.
#
#   scripts/conformance.sh [MAX_EXAMPLES]     (default 100 per operation)
#
# Fails on any failure: a 5xx, a response or status or content type that
# the document does not declare, a valid request refused (see
# scripts/schemathesis.toml), an invalid one accepted.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
venv="${TUILERIE_VENV:-$HOME/.cache/tuilerie-venv}"
if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version | grep -q '4.32.5'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
cargo build --locked -q -p tuilerie-server --bin tuilerie
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$(mktemp)"
"$CARGO_TARGET_DIR/debug/tuilerie" serve data/ --addr "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "conformance: the server did not start"; exit 1; }
  sleep 0.1
done
cd "$(mktemp -d)"
"$venv/bin/schemathesis" --config-file "$OLDPWD/scripts/schemathesis.toml" run \
  "http://127.0.0.1:$port/openapi.json" --checks all --max-examples "$examples" \
  --generation-deterministic --no-color
