#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test tuilerie.
# Idempotent: only missing packages are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

# cmake + SQLite: the bundled PROJ build of proj-sys (embeds proj.db).
# nodejs/npm: the independent MVT decoder used by the tests.
apt_packages=(cmake libsqlite3-dev sqlite3 pkg-config)
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

# npm packages of the tests (versions pinned by tests/node/package-lock.json).
if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
  echo "setup: npm ci in tests/node"
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
fi
