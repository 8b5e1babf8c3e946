#!/usr/bin/env bash
# permessage-deflate on a chat workload (benches/examples/chat_compression.rs): wsproto's
# extension in process at several settings, then what `wsproto serve`, Python `websockets` and
# Node `ws` (each with its defaults, installed as scripts/peers.sh does) send back for the same
# messages, and how many round trips per second each sustains.
#
# Usage: scripts/chat_compression.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out=$CARGO_TARGET_DIR/chat-compression
mkdir -p "$out"
cache=${PEERS_CACHE:-$HOME/.cache/wsproto-peers}
source "$root/scripts/lib/peers_install.sh"
cargo build --quiet --profile fast -p wsproto-cli --bin wsproto
cargo build --quiet --release -p wsproto-benches --example chat_compression
tool=$CARGO_TARGET_DIR/release/examples/chat_compression

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME PATTERN CMD...: starts CMD, waits for PATTERN's port in its output, sets $port.
start() {
  local name=$1 pattern=$2; shift 2
  "$@" >"$out/$name.log" 2>&1 &
  pids+=($!)
  port=""
  for _ in $(seq 1 100); do
    port=$(grep -o -E "$pattern" "$out/$name.log" | head -n 1 | grep -o -E '[0-9]+$') || true
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  echo "chat_compression: $name did not start" >&2
  cat "$out/$name.log" >&2
  exit 1
}

echo "In process:"
"$tool" local
echo
start wsproto 'serving on http://127.0.0.1:[0-9]+' "$CARGO_TARGET_DIR/fast/wsproto" -q serve 127.0.0.1:0 --ping-interval 0
ours=$port
start python 'listening on [0-9]+' "$python" "$root/scripts/peers/python_peer.py" server 0 default
py=$port
start node 'listening on [0-9]+' node "$root/scripts/peers/node_peer.mjs" server 0 default
nd=$port
echo "Against each server:"
"$tool" "wsproto serve=ws://127.0.0.1:$ours/echo" \
  "python websockets $("$python" -c 'import websockets; print(websockets.__version__)')=ws://127.0.0.1:$py/echo" \
  "node ws $(node -p "require('$PEERS_NODE_PREFIX/node_modules/ws/package.json').version")=ws://127.0.0.1:$nd/echo"
