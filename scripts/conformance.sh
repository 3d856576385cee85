#!/usr/bin/env bash
# API conformance: schemathesis (every check) against /openapi.json of the
# real binary serving the demo data, on a free loopback port.
#
#   scripts/conformance.sh [MAX_EXAMPLES]     (default 100 per operation)
#
# GET /events is left out: a stream of server-sent events never ends (its
# own tests read it: tests/status_http.rs). Fails on any failure: a 5xx, a response or status or content type that
# the document does not declare, a valid request refused (see
# scripts/schemathesis.toml), an invalid one accepted.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
venv="$(bash "$(dirname "$0")/venv.sh")"
cargo build --locked -q -p tuilerie-server --bin tuilerie
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$(mktemp)"
store="$(mktemp -d)"
# Writes are tested with an admin token, as an admin's client would send them.
token=$("$CARGO_TARGET_DIR/debug/tuilerie" token create --role admin --name conformance --data-dir "$store" 2>/dev/null)
# The demo configuration (its collection points editable), paths made
# absolute, no write budget (the generator writes fast with one token).
sed -e "s|^path = \"|path = \"$PWD/data/|" -e 's|^\[server\]$|[server]\nwrite_rate = 0|' data/tuilerie.toml >"$store/conformance.toml"
"$CARGO_TARGET_DIR/debug/tuilerie" serve --config "$store/conformance.toml" --addr "127.0.0.1:$port" --data-dir "$store" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$log" "$store"' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$log"; echo "conformance: the server did not start"; exit 1; }
  sleep 0.1
done
cd "$(mktemp -d)"
"$venv/bin/schemathesis" --config-file "$OLDPWD/scripts/schemathesis.toml" run \
  "http://127.0.0.1:$port/openapi.json" --checks all --max-examples "$examples" \
  --header "Authorization: Bearer $token" --exclude-checks allow_header_conformance \
  --exclude-path /events \
  --generation-deterministic --no-color
