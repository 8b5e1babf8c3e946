#!/usr/bin/env bash
# Runs the migration examples (crates/wsproto-tokio/examples/migrate_*.rs) against each other,
# as docs/migrating-from-tungstenite.md shows them: the echo server and the header-callback
# server, with the client, split-halves and configuration examples against them. Fails if any
# example fails or a refusal is not refused.
#
# Usage: scripts/examples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --quiet --profile fast -p wsproto-tokio --examples
bin=$CARGO_TARGET_DIR/fast/examples
out=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$out"
}
trap cleanup EXIT

# start NAME: starts an example server on a free port; sets $url.
start() {
  "$bin/$1" 127.0.0.1:0 >"$out/$1.log" 2>&1 &
  pids+=($!)
  url=
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on \(ws:\/\/[^ ]*\)$/\1/p' "$out/$1.log" | head -n 1)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "examples: $1 did not start:" >&2
  cat "$out/$1.log" >&2
  return 1
}

check() {
  echo "examples: $*"
  timeout 30 "$@" >"$out/client.log" 2>&1 || { cat "$out/client.log" >&2; echo "examples: FAILED: $*" >&2; return 1; }
}

start migrate_echo_server
for example in migrate_client migrate_split_tasks migrate_config tokio_client; do
  check "$bin/$example" "$url/echo"
done
start migrate_server_headers
check "$bin/migrate_client" "$url/chat"
if timeout 30 "$bin/migrate_client" "$url/private" >"$out/refused.log" 2>&1; then
  echo "examples: FAILED: /private was not refused" >&2
  exit 1
fi
grep -q "403" "$out/refused.log" || { cat "$out/refused.log" >&2; echo "examples: FAILED: the refusal is not a 403" >&2; exit 1; }
echo "examples: all passed"
