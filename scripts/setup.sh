#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test tuilerie.
# Idempotent: only missing packages are installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# cmake + SQLite: the bundled PROJ build of proj-sys (embeds proj.db).
apt_packages=(cmake libsqlite3-dev sqlite3 pkg-config)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
