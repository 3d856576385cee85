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
# this checkout; a fresh clone elsewhere (git clone . /tmp/check) finds it
# beside the repository it was cloned from.
if [ -z "${TUILERIE_SHARED_DATA:-}" ] && [ ! -d ../shared/data/gironde ]; then
  origin="$(git remote get-url origin 2>/dev/null || true)"
  if [ -n "$origin" ] && [ -d "$origin/../shared/data/gironde" ]; then
    TUILERIE_SHARED_DATA="$(cd "$origin/../shared/data" && pwd)"
    export TUILERIE_SHARED_DATA
  fi
fi

python3 scripts/check_modules.py
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
