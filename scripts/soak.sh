#!/usr/bin/env bash
# Soak: `wsproto serve --deflate` against CLIENTS clients (default 2,000) for DURATION seconds,
# each connecting, exchanging messages of random sizes (16 B to 16 KiB, with deflate) at a
# steady rate, closing and connecting again (crates/wsproto-cli/examples/soak.rs). Prints every
# 10 s the messages per second, p50/p99/p99.9 latency, and the server's RSS and open
# descriptors. Fails on any error or lost message, or if, after a 30 s warm-up, the server's
# descriptors grow by more than 10% or its RSS does (the later half's median more than 10% over
# the earlier half's, or any sample more than 25% over the first), or if, once every client has
# left, the server is not back to its descriptors and within 16 MiB of its memory from before the
# first client came (a leak of 2 KiB per session, tried once, left 40 MiB after a 1-minute run).
#
# Usage: scripts/soak.sh DURATION [CLIENTS]     (.ci/run: 120 s; docs/performance.md: 30 min)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
duration=${1:?usage: scripts/soak.sh DURATION [CLIENTS]}
clients=${2:-2000}
out=$PWD/target/soak
mkdir -p "$out"
cargo build --profile fast -p wsproto-cli --bin wsproto --example soak
bin=$CARGO_TARGET_DIR/fast

"$bin/wsproto" serve 127.0.0.1:0 --deflate >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -o -E 'serving on http://[0-9.:]+' "$out/server.log" | head -n 1 | sed 's#serving on http://##') || true
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "soak: the server did not start (see $out/server.log)" >&2; exit 1; }
"$bin/examples/soak" "ws://$url/echo" "$duration" "$clients" "$server"
