#!/usr/bin/env bash
# The Python tools of the tests, pinned, in one venv (created or completed
# when a pin changes); prints its path.
#   schemathesis: API conformance (scripts/conformance.sh)
#   owslib, shapely, pyproj: clients and references of scripts/ogc_clients.py
set -euo pipefail
venv="${TUILERIE_VENV:-$HOME/.cache/tuilerie-venv}"
pins=("schemathesis==4.32.5" "owslib==0.35.0" "shapely==2.1.2" "pyproj==3.7.1")
stamp="$venv/.tuilerie-pins"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "${pins[@]}" >&2
  echo "${pins[*]}" >"$stamp"
fi
echo "$venv"
