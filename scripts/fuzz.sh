#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz, stable toolchain,
# no sanitizer: our code has no unsafe of its own) of every input reader
# and parser: GeoJSON, shapefile/DBF/.cpg, .prj, CSV, the HTTP router's
# paths, queries and bodies, the taxonomy lookup, opening hours.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, all)
#
# First replays every input in fuzz/regressions/<target>/ (crashes found
# before, kept as regression inputs), then fuzzes each target for the time
# given with a 5 s limit per input (30 s for the router) and 2 GiB of memory, growing a corpus in
# $FUZZ_CORPUS (default ~/.cache/tuilerie-fuzz-corpus) seeded by
# scripts/fuzz_seeds.py. Prints executions per target; a crash stops the
# script with the input saved under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/tuilerie-fuzz-target}"
corpus_root="${FUZZ_CORPUS:-$HOME/.cache/tuilerie-fuzz-corpus}"
shared="${TUILERIE_SHARED_DATA:-../shared/data}"
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -s none
python3 scripts/fuzz_seeds.py "$corpus_root/seeds" "$shared"
report=""
for t in "${targets[@]}"; do
  mkdir -p "$corpus_root/$t" "$corpus_root/seeds/$t" "fuzz/artifacts/$t"
  if [ -d "fuzz/regressions/$t" ] && [ -n "$(ls -A "fuzz/regressions/$t")" ]; then
    cargo fuzz run -s none "$t" fuzz/regressions/"$t"/* -- -runs=1 >/dev/null 2>&1 \
      || { echo "fuzz: a regression input of $t fails again"; exit 1; }
  fi
  log="$corpus_root/$t.log"
  # Seconds one input may take. The router renders PNG maps, which take
  # 0.2 s in a release build and about 30 times as long instrumented.
  timeout=5
  [ "$t" = requests ] && timeout=30
  if ! cargo fuzz run -s none "$t" "$corpus_root/$t" "$corpus_root/seeds/$t" -- \
      -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t crashed; the input is in fuzz/artifacts/$t/"
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  report+="$(printf '%-10s %12s executions in %ss' "$t" "${execs:-?}" "$secs")"$'\n'
done
printf 'fuzz: no crash\n%s' "$report"
