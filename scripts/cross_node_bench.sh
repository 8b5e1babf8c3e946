#!/usr/bin/env bash
# Cross-node chat through Redis: a Redis server and two `wsproto serve --redis` nodes on this
# machine, a sender on node 1 and a receiver on node 2 in one room (crates/wsproto-cli/examples/
# cross_node.rs). Prints the lines per second that cross and their latency: once as fast as the
# receiver keeps up (throughput), once at a steady RATE (latency under load).
#
# Usage: scripts/cross_node_bench.sh [MESSAGES] [RATE]   (defaults: 20000, 2000 lines/s)
# Needs redis-server (Debian: apt-get install redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
messages=${1:-20000}
rate=${2:-2000}
out=$PWD/target/cross-node-bench
mkdir -p "$out"
cargo build --profile fast -p wsproto-cli --bin wsproto --example cross_node
bin=$CARGO_TARGET_DIR/fast

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$out/redis.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

urls=()
for n in 1 2; do
  "$bin/wsproto" serve 127.0.0.1:0 --ping-interval 0 --redis "redis://127.0.0.1:$port/" >"$out/node$n.log" 2>&1 &
  pids+=("$!")
  url=""
  for _ in $(seq 1 100); do
    url=$(grep -o -E 'serving on http://[0-9.:]+' "$out/node$n.log" | head -n 1 | sed 's#serving on http://##') || true
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "cross-node: node $n did not start (see $out/node$n.log)" >&2; exit 1; }
  urls+=("ws://$url")
done
grep -q "joined the other nodes through Redis" "$out/node1.log" || sleep 1

echo "cross-node, as fast as it goes: $("$bin/examples/cross_node" "${urls[0]}" "${urls[1]}" "$messages")"
echo "cross-node, at $rate lines/s: $("$bin/examples/cross_node" "${urls[0]}" "${urls[1]}" $((rate * 5)) "$rate")"
[ -n "${SHOW_REDIS_STATS:-}" ] && redis-cli -p "$port" info commandstats | grep -E "eval|publish|xadd" || true
