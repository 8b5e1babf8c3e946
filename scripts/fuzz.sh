#!/usr/bin/env bash
# Builds every cargo-fuzz target (nightly, AddressSanitizer) and runs each one for SECONDS
# (default 60) from its committed corpus in fuzz/corpus/, two at a time. New inputs go to a
# scratch corpus, not into the repository. A crash fails the run and leaves its input in
# fuzz/artifacts/<target>/: turn it into a regression test.
#
# With --grow, new inputs go into the committed corpus instead, and each target's corpus is then
# minimised (`cargo fuzz cmin`: the fewest inputs that reach the same coverage); commit the
# result, so that the next runs, and scripts/coverage.sh, start from what this one reached.
#
# Usage: scripts/fuzz.sh [--grow] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
grow=false
if [ "${1:-}" = --grow ]; then
  grow=true
  shift
fi
secs=${1:-60}
root=$PWD

tools=${FUZZ_TOOLS:-$HOME/.cache/wsproto-fuzz-tools}
export PATH="$tools/bin:$PATH"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --root "$tools" --quiet
fi

cd fuzz
cargo +nightly fuzz build --release --debug-assertions
mapfile -t targets < <(cargo +nightly fuzz list)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run() {
  local t=$1
  mkdir -p "$scratch/$t" "artifacts/$t" "corpus/$t"
  local corpora=("$scratch/$t" "corpus/$t")
  $grow && corpora=("corpus/$t")
  if cargo +nightly fuzz run --release --debug-assertions "$t" "${corpora[@]}" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$scratch/$t.log" 2>&1; then
    echo "fuzz: $t: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$t.log" | grep -o '[0-9]*$') runs, no crash"
    if $grow; then
      cargo +nightly fuzz cmin --release --debug-assertions "$t" "corpus/$t" >"$scratch/$t.cmin.log" 2>&1 ||
        { echo "fuzz: $t: minimising failed"; tail -n 20 "$scratch/$t.cmin.log"; return 1; }
      echo "fuzz: $t: corpus minimised to $(find "corpus/$t" -type f | wc -l) inputs"
    fi
  else
    echo "fuzz: $t FAILED"
    tail -n 40 "$scratch/$t.log"
    return 1
  fi
}

status=0
pending=()
for t in "${targets[@]}"; do
  run "$t" &
  pending+=($!)
  if [ ${#pending[@]} -ge 2 ]; then
    wait "${pending[0]}" || status=1
    pending=("${pending[@]:1}")
  fi
done
for p in "${pending[@]}"; do wait "$p" || status=1; done
exit $status
