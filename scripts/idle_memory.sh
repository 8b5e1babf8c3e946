#!/usr/bin/env bash
# Server memory per idle connection: N connections (default 10,000) that each did the opening
# handshake and echoed one message, then sit idle. For each server: its RSS before the clients
# connect, its RSS while they idle, and the difference divided by N.
#
# Usage: scripts/idle_memory.sh [N] [plain|deflate]
#   plain (the default): a 20 B message, no compression; wsproto against the Rust peers.
#   deflate: permessage-deflate negotiated (context takeover both ways) and a 1 KiB text message
#     (JSON-like words); wsproto serve with hibernation (the default, after 1 s) and without, and
#     Python `websockets` and Node `ws` with their own defaults, installed as scripts/peers.sh
#     does. The RSS is read 3 s after the last echo, past serve's 1 s hibernation delay.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
n=${1:-10000}
mode=${2:-plain}
out=$root/target/idle-memory
mkdir -p "$out"

source "$root/scripts/lib/servers.sh"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# The client: a 20 B binary message, or a 1 KiB text one with deflate offered.
client_args=(-s 20)
[ "$mode" = deflate ] && client_args=(-s 1024 --text --deflate)

# measure NAME: the server in $server_pid at $addr, already started.
measure_started() {
  local name=$1
  sleep 0.5
  local before
  before=$(rss "$server_pid")
  (pin 1 "$bin/wsproto" -q bench "ws://$addr/echo" -c "$n" "${client_args[@]}" --hold 8 --threads 1) >"$out/$name.client.log" 2>&1 &
  local client=$!
  for _ in $(seq 1 900); do
    grep -q '^holding' "$out/$name.client.log" && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^holding' "$out/$name.client.log" || { echo "idle: the client failed against $name:" >&2; cat "$out/$name.client.log" >&2; exit 1; }
  grep -q '^holding [0-9]* idle connections (0 errors)' "$out/$name.client.log" || { echo "idle: errors against $name:" >&2; cat "$out/$name.client.log" >&2; exit 1; }
  if [ "$mode" = deflate ] && [[ "$name" != *no-deflate* ]] && grep -q 'did not accept permessage-deflate' "$out/$name.client.log"; then
    echo "idle: $name did not negotiate permessage-deflate" >&2
    exit 1
  fi
  sleep 3
  local during
  during=$(rss "$server_pid")
  wait "$client" || true
  stop_server
  awk -v name="$name" -v n="$n" -v b="$before" -v d="$during" \
    'BEGIN { printf "| %s | %d | %d | %.2f |\n", name, b, d, (d - b) / n }'
}

measure() {
  local name=$1; shift
  start_server idle "$name" "$@"
  measure_started "$name"
}

# A peer's server prints "listening on PORT".
measure_peer() {
  local name=$1; shift
  (pin 0 "$@") >"$out/$name.server.log" 2>&1 &
  server_pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port=$(grep -o -E 'listening on [0-9]+' "$out/$name.server.log" | grep -o -E '[0-9]+$') || true
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "idle: $name did not start" >&2; cat "$out/$name.server.log" >&2; exit 1; }
  addr=127.0.0.1:$port
  measure_started "$name"
}

echo "| server | RSS before (KiB) | RSS with $n idle (KiB) | KiB per connection |"
echo "|---|---:|---:|---:|"
if [ "$mode" = deflate ]; then
  cache=${PEERS_CACHE:-$HOME/.cache/wsproto-peers}
  source "$root/scripts/lib/peers_install.sh"
  measure "wsproto serve (hibernates after 1 s, the default)" "$bin/wsproto" -q serve 127.0.0.1:0 --ping-interval 0
  measure "wsproto serve --deflate-idle never" "$bin/wsproto" -q serve 127.0.0.1:0 --ping-interval 0 --deflate-idle never
  measure "wsproto serve --no-deflate" "$bin/wsproto" -q serve 127.0.0.1:0 --ping-interval 0 --no-deflate
  measure "axum 0.8 + wsproto-axum (hibernates after 1 s)" "$bin/echo_axum_wsproto" 127.0.0.1:0
  measure_peer "python websockets $("$python" -c 'import websockets; print(websockets.__version__)') (its defaults)" \
    "$python" "$root/scripts/peers/python_peer.py" server 0 default
  measure_peer "node ws $(node -p "require('$PEERS_NODE_PREFIX/node_modules/ws/package.json').version") (perMessageDeflate: true)" \
    node "$root/scripts/peers/node_peer.mjs" server 0 default
else
  measure "wsproto serve (keepalive off)" "$bin/wsproto" -q serve 127.0.0.1:0 --ping-interval 0 --no-deflate
  measure "wsproto serve (keepalive 20 s)" "$bin/wsproto" -q serve 127.0.0.1:0 --no-deflate
  measure "tokio-tungstenite" "$bin/echo_tokio_tungstenite" 127.0.0.1:0
  measure "fastwebsockets" "$bin/echo_fastwebsockets" 127.0.0.1:0
  measure "tokio-websockets" "$bin/echo_tokio_websockets" 127.0.0.1:0
  measure "axum 0.8 + wsproto-axum (keepalive 20 s)" "$bin/echo_axum_wsproto" 127.0.0.1:0
  measure "axum 0.8 + its own WebSocketUpgrade" "$bin/echo_axum" 127.0.0.1:0
  measure "tokio and the socket alone" "$bin/hold_tcp" 127.0.0.1:0
fi
