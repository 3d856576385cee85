#!/usr/bin/env bash
# Compares the in-process benchmarks of two revisions in one run:
#   bash scripts/bench_compare.sh BASE_REV [BENCH...]
# BENCH: tiling, nearest (tuilerie-geo), handlers (tuilerie-server);
# default all three. The base revision is checked out in a temporary git
# worktree, benchmarked first (criterion baseline "base"), then the working
# tree is benchmarked against it; criterion prints each change with its
# confidence interval. Both share CARGO_TARGET_DIR (dependencies built
# once) and bench-data/ (python3 scripts/make_data.py --bench).
set -euo pipefail
cd "$(dirname "$0")/.."
base_rev="${1:?usage: bench_compare.sh BASE_REV [tiling|nearest|handlers...]}"
shift
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(tiling nearest handlers)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tuilerie-target}"
if [ -z "${TUILERIE_SHARED_DATA:-}" ]; then
  TUILERIE_SHARED_DATA="$(cd ../shared/data 2>/dev/null && pwd || true)"
  export TUILERIE_SHARED_DATA
fi
[ -f bench-data/containers-france-1000000.geojson ] || python3 scripts/make_data.py --bench

crate_of() { case "$1" in handlers) echo tuilerie-server ;; *) echo tuilerie-geo ;; esac; }

work="$(mktemp -d)"
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base_rev" >/dev/null
ln -s "$PWD/bench-data" "$work/base/bench-data"
# The web assets the server embeds at build time.
[ -d crates/tuilerie-server/web/node_modules ] && ln -s "$PWD/crates/tuilerie-server/web/node_modules" "$work/base/crates/tuilerie-server/web/node_modules"

echo "== base $(git rev-parse --short "$base_rev")"
for b in "${benches[@]}"; do
  (cd "$work/base" && cargo bench -q -p "$(crate_of "$b")" --bench "$b" -- --save-baseline base --noplot)
done
echo "== working tree $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (modified)') against base"
for b in "${benches[@]}"; do
  cargo bench -q -p "$(crate_of "$b")" --bench "$b" -- --baseline base --noplot
done
