#!/usr/bin/env bash
# Line and branch coverage of the core (crates/wsproto/src), twice: over its test suite (unit
# tests, the RFC suite, the memory tests), and over the suite plus every fuzz target's committed
# corpus (fuzz/corpus/<target>/, each input run once through its target). Built with
# cargo-llvm-cov's instrumentation on nightly (branch coverage is a nightly option) in a target
# directory of its own; the profiles are merged and reported with the toolchain's llvm-cov.
# Prints the per-file table of the second; fails if either total falls below its floor, which
# sits just under what is reached now, so that coverage cannot quietly shrink. The goal (95% of
# lines, 90% of branches) and what is left uncovered are in docs/conformance.md.
#
# Usage: scripts/coverage.sh
# Installs cargo-llvm-cov (crates.io) into ~/.cache/wsproto-cov-tools and nightly's
# llvm-tools-preview (rustup) if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suite_line_floor=${COVERAGE_LINE_FLOOR:-95}
suite_branch_floor=${COVERAGE_BRANCH_FLOOR:-88}
all_line_floor=${COVERAGE_ALL_LINE_FLOOR:-95.5}
all_branch_floor=${COVERAGE_ALL_BRANCH_FLOOR:-89}

tools=${COVERAGE_TOOLS:-$HOME/.cache/wsproto-cov-tools}
export PATH="$tools/bin:$PATH"
if ! cargo llvm-cov --version >/dev/null 2>&1; then
  echo "coverage: installing cargo-llvm-cov"
  cargo install cargo-llvm-cov --locked --root "$tools" --quiet
fi
rustup component add llvm-tools-preview --toolchain nightly >/dev/null 2>&1
llvm_bin=$(rustc +nightly --print sysroot)/lib/rustlib/$(rustc +nightly -vV | sed -n 's/^host: //p')/bin

# Everything instrumented goes to a directory of its own, so that the ordinary builds beside it
# are not rebuilt.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}/llvm-cov-target
mkdir -p "$CARGO_TARGET_DIR"
eval "$(cargo +nightly llvm-cov show-env --sh --branch 2>/dev/null)"
profiles=$CARGO_TARGET_DIR/profiles
rm -rf "$profiles"
mkdir -p "$profiles/suite" "$profiles/corpora"

# executables JSON: the paths of the executables in cargo's JSON messages.
executables() { sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'; }

# The suite.
export LLVM_PROFILE_FILE=$profiles/suite/%p-%m.profraw
cargo +nightly test -p wsproto --all-features --quiet
cargo +nightly test -p wsproto --all-features --no-run --message-format=json 2>/dev/null | executables >"$profiles/suite-objects"

# The corpora: each target built with the same instrumentation (no sanitizer), each input run
# once (given files, libFuzzer runs each and exits).
(
  cd fuzz
  # Instrumented through RUSTFLAGS, not cargo-llvm-cov's wrapper: the wrapper instruments only the
  # main workspace's crates, and a binary that is not instrumented itself links no profiler.
  mapfile -t bins < <(env -u RUSTC_WRAPPER RUSTFLAGS="-Cinstrument-coverage -Zcoverage-options=branch" \
    cargo +nightly build --release --bins --message-format=json 2>/dev/null | executables)
  for bin in "${bins[@]}"; do
    t=$(basename "$bin")
    [ -n "$(ls -A "corpus/$t" 2>/dev/null)" ] || continue
    find "corpus/$t" -type f -print0 |
      LLVM_PROFILE_FILE=$profiles/corpora/$t-%p-%m.profraw xargs -0 -n 500 "$bin" -rss_limit_mb=2048 >/dev/null 2>&1
    echo "coverage: replayed $(find "corpus/$t" -type f | wc -l) inputs of $t"
  done
  printf '%s\n' "${bins[@]}" >"$profiles/fuzz-objects"
)

# report NAME OBJECTS_FILE PROFRAW_DIRS...: merges the profiles and sets $table to llvm-cov's
# per-file table of the core's sources, and $lines and $branches to its totals.
report() {
  local name=$1 objects_file=$2
  shift 2
  find "$@" -name '*.profraw' >"$profiles/$name.list"
  "$llvm_bin/llvm-profdata" merge -sparse --input-files="$profiles/$name.list" -o "$profiles/$name.profdata"
  local args=() o
  while read -r o; do args+=(-object "$o"); done <"$objects_file"
  table=$("$llvm_bin/llvm-cov" report -instr-profile="$profiles/$name.profdata" "${args[@]:1}" -show-branch-summary \
    "$root/crates/wsproto/src" 2>/dev/null | sed "s|$root/||")
  local total
  total=$(echo "$table" | grep '^TOTAL')
  # TOTAL regions missed cover functions missed executed lines missed cover branches missed cover
  lines=$(echo "$total" | awk '{print $10}' | tr -d '%')
  branches=$(echo "$total" | awk '{print $13}' | tr -d '%')
}

status=0
check() {
  local what=$1 lf=$2 bf=$3
  echo "coverage: $what: core lines ${lines}% (floor ${lf}%), branches ${branches}% (floor ${bf}%)"
  awk -v l="$lines" -v b="$branches" -v lf="$lf" -v bf="$bf" 'BEGIN { exit !(l >= lf && b >= bf) }' ||
    { echo "coverage: FAILED: $what is below its floor" >&2; status=1; }
}
cat "$profiles/suite-objects" "$profiles/fuzz-objects" >"$profiles/all-objects"
report all "$profiles/all-objects" "$profiles/suite" "$profiles/corpora"
echo "$table"
check "the test suite and the fuzz corpora" "$all_line_floor" "$all_branch_floor"
report suite "$profiles/suite-objects" "$profiles/suite"
check "the test suite alone" "$suite_line_floor" "$suite_branch_floor"
exit $status
