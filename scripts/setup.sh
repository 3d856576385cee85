#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test tuilerie.
# Idempotent: only missing packages are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

# cmake + SQLite: the bundled PROJ build of proj-sys (embeds proj.db).
# nodejs/npm: MapLibre GL JS for the web map (embedded at build time) and the
# tests' independent references (MVT decoder, style validator, browser driver).
# chromium: the browser the web-map test drives headless.
# fonts-dejavu-core: text of the PNG exports of thematic maps (resvg).
# python3-venv + curl: schemathesis (scripts/conformance.sh) in a venv.
# wrk: the load of scripts/soak.sh and scripts/edit_bench.sh.
# osmium-tool: the independent reader of OSM files and osmChange exports.
# poppler-utils: pdfinfo and pdftotext check the PDF exports.
# gdal-bin: GDAL's OAPIF driver as a client of the OGC API (scripts/ogc_clients.py).
# sqlite3: reads exported MBTiles back; nginx-light: the plain static server
# a MapLibre page reads an exported PMTiles archive from (tests/export.rs).
# postgresql-15: the shared store's tests start their own server in a
# temporary directory (tests/common/postgres.rs).
apt_packages=(cmake libsqlite3-dev sqlite3 pkg-config chromium fonts-dejavu-core python3-venv curl wrk osmium-tool poppler-utils gdal-bin nginx-light postgresql-15)
command -v node >/dev/null || apt_packages+=(nodejs)
command -v npm >/dev/null || apt_packages+=(npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# npm packages (versions pinned by each package-lock.json): the web map's
# MapLibre GL JS build, and the tests' references.
for dir in crates/tuilerie-server/web tests/node; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "setup: npm ci in $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
