#!/usr/bin/env bash
# Server memory per idle connection: N connections (default 10,000) that each did the opening
# handshake and echoed one 20 B message, then sit idle. For each server: its RSS before the
# clients connect, its RSS while they idle, and the difference divided by N.
#
# Usage: scripts/idle_memory.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
n=${1:-10000}
out=$root/target/idle-memory
mkdir -p "$out"

source "$root/scripts/lib/servers.sh"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

measure() {
  local name=$1; shift
  start_server idle "$name" "$@"
  sleep 0.5
  local before
  before=$(rss "$server_pid")
  (pin 1 "$bin/wsproto" -q bench "ws://$addr/echo" -c "$n" -s 20 --hold 6 --threads 1) >"$out/$name.client.log" 2>&1 &
  local client=$!
  for _ in $(seq 1 600); do
    grep -q '^holding' "$out/$name.client.log" && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^holding' "$out/$name.client.log" || { echo "idle: the client failed against $name:" >&2; cat "$out/$name.client.log" >&2; exit 1; }
  sleep 2
  local during
  during=$(rss "$server_pid")
  wait "$client" || true
  stop_server
  awk -v name="$name" -v n="$n" -v b="$before" -v d="$during" \
    'BEGIN { printf "| %s | %d | %d | %.2f |\n", name, b, d, (d - b) / n }'
}

echo "| server | RSS before (KiB) | RSS with $n idle (KiB) | KiB per connection |"
echo "|---|---:|---:|---:|"
measure "wsproto serve (keepalive off)" "$bin/wsproto" -q serve 127.0.0.1:0 --ping-interval 0
measure "wsproto serve (keepalive 20 s)" "$bin/wsproto" -q serve 127.0.0.1:0
measure "tokio-tungstenite" "$bin/echo_tokio_tungstenite" 127.0.0.1:0
measure "fastwebsockets" "$bin/echo_fastwebsockets" 127.0.0.1:0
measure "tokio-websockets" "$bin/echo_tokio_websockets" 127.0.0.1:0
measure "tokio and the socket alone" "$bin/hold_tcp" 127.0.0.1:0
