#!/usr/bin/env bash
# The core's tests under Miri, which checks the unsafe blocks (and everything around them) for
# undefined behaviour: out-of-bounds or uninitialised reads, invalid UTF-8 behind a `&str`,
# aliasing violations.
#
# What runs: the unit tests, the RFC tests and the doc tests of `wsproto` with the default
# features (miniz_oxide), and the deflate backend's and hibernation's unit tests again with
# zlib-rs, whose one `set_len` (our unsafe code) they reach (the history and parameter tests do
# not touch the backend, so they run once). The RFC deflate tests are not repeated with zlib-rs:
# under Miri they take over six minutes, in zlib-rs's own code, not ours. SIMD paths are compiled out under Miri (`cfg(miri)`), so the
# portable loops run, as on every CPU without AVX2.
#
# Miri is about a thousand times slower than native code, so some tests are smaller or left out
# here; `cargo test` runs all of them natively, and what Miri adds is checking each code path once:
# - property tests run 4 cases each instead of 256 (PROPTEST_CASES), and the largest draw
#   smaller inputs (the two-core properties at most 12 operations, the history's pieces a tenth);
# - tests with payloads of hundreds of KiB shrink them under `cfg(miri)` (each says so);
# - left out: the 3 MiB multi-step inflate and the 1 MiB deflate bomb (each `#[cfg_attr(miri,
#   ignore)]` names the smaller test that runs the same path); and, with `--skip` below, the
#   65,536 one-byte fragments (over ten minutes; each fragment takes the path every other
#   fragmentation test takes) and the tests that re-run a handshake or a stream of frames once per
#   split point (`split_at_every_byte`: quadratic; the one-byte-at-a-time test that is kept runs the
#   same partial-input paths once).
#
# Usage: scripts/miri.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "miri: installing the miri component (rustup)"
  rustup +nightly component add miri rust-src
fi
# Miri's own sysroot and artifacts do not mix with a normal build: a target directory of its own.
export CARGO_TARGET_DIR=${MIRI_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/miri}
export PROPTEST_CASES=${PROPTEST_CASES:-4}
# proptest looks up the working directory (to persist failures): Miri must allow that.
export MIRIFLAGS=${MIRIFLAGS:--Zmiri-disable-isolation}
# Timings per test go to the log (nightly's libtest), so that a slow one is easy to find.
times=(-Zunstable-options --report-time)
cargo +nightly miri test -p wsproto --lib --tests -- "${times[@]}" --skip sixty_five_thousand_one_byte_fragments --skip split_at_every_byte
cargo +nightly miri test -p wsproto --doc
cargo +nightly miri test -p wsproto --features zlib-rs --lib -- "${times[@]}" deflate::backend deflate::hibernation
