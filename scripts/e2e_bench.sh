#!/usr/bin/env bash
# Loopback echo throughput: wsproto serve against the peers' echo servers, in the same run.
# The server is pinned to core 0 and `wsproto bench` to core 1; each case runs DURATION seconds
# (default 4), REPEAT times (default 3), with the servers interleaved round by round so that the
# machine's drift hits all of them alike. Prints a markdown table of median messages per second,
# p99 latency, and ratios.
#
# Usage: scripts/e2e_bench.sh [DURATION] [REPEAT] [peers|axum]
#   peers (the default): wsproto serve against the peers' echo servers, 1/16/64 connections x
#     20 B/1 KiB/64 KiB.
#   axum: the same axum application with wsproto-axum's extractor and with axum's own
#     WebSocketUpgrade, 16/64 connections x 20 B/1 KiB (the extractor's target: >= 1.2x).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
secs=${1:-4}
repeat=${2:-3}
set_name=${3:-peers}
out=$root/target/e2e-bench
mkdir -p "$out"

source "$root/scripts/lib/servers.sh"

servers=(wsproto tokio-tungstenite fastwebsockets tokio-websockets)
conns=(1 16 64)
sizes=(20 1024 65536)
declare -A cmd=(
  [wsproto]="$bin/wsproto -q serve 127.0.0.1:0 --ping-interval 0"
  [tokio-tungstenite]="$bin/echo_tokio_tungstenite 127.0.0.1:0"
  [fastwebsockets]="$bin/echo_fastwebsockets 127.0.0.1:0"
  [tokio-websockets]="$bin/echo_tokio_websockets 127.0.0.1:0"
  [axum+wsproto-axum]="$bin/echo_axum_wsproto 127.0.0.1:0"
  [axum]="$bin/echo_axum 127.0.0.1:0"
)
if [ "$set_name" = axum ]; then
  servers=(axum+wsproto-axum axum)
  conns=(16 64)
  sizes=(20 1024)
fi
: >"$out/results.jsonl"
for round in $(seq 1 "$repeat"); do
  for server in "${servers[@]}"; do
    # shellcheck disable=SC2086
    start_server e2e "$server" ${cmd[$server]}
    for c in "${conns[@]}"; do
      for size in "${sizes[@]}"; do
        json=$( (pin 1 "$bin/wsproto" -q bench "ws://$addr/echo" -c "$c" -s "$size" -d "$secs" --threads 1 --json) 2>/dev/null || echo '{}')
        echo "{\"server\":\"$server\",\"c\":$c,\"size\":$size,\"round\":$round,\"result\":$json}" >>"$out/results.jsonl"
      done
    done
    stop_server
    echo "e2e: round $round, $server done" >&2
  done
done

python3 - "$out/results.jsonl" "$set_name" <<'PY'
import json, statistics, sys
from collections import defaultdict
set_name = sys.argv[2]
runs = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[(r["server"], r["c"], r["size"])].append(r["result"])
def median(server, c, size, key=lambda d: d.get("messages_per_s", 0)):
    vals = [key(d) for d in runs.get((server, c, size), []) if d]
    return statistics.median(vals) if vals else 0
if set_name == "axum":
    servers = ["axum+wsproto-axum", "axum"]
    print("| connections | size (B) | axum + wsproto-axum msg/s | axum's own msg/s | ratio | wsproto-axum p99 (ms) | axum's own p99 (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for c in (16, 64):
        for size in (20, 1024):
            ours, theirs = (median(s, c, size) for s in servers)
            p99 = [median(s, c, size, key=lambda d: d.get("latency_ms", {}).get("p99", 0)) for s in servers]
            ratio = f"{ours / theirs:.2f}x" if theirs else "n/a"
            print(f"| {c} | {size} | {ours:,.0f} | {theirs:,.0f} | {ratio} | {p99[0]:.3f} | {p99[1]:.3f} |")
    sys.exit(0)
servers = ["wsproto", "tokio-tungstenite", "fastwebsockets", "tokio-websockets"]
print("| connections | size (B) | " + " | ".join(f"{s} msg/s" for s in servers) + " | vs fastwebsockets | vs tokio-tungstenite | wsproto p99 (ms) | best peer p99 (ms) |")
print("|---:|---:|" + "---:|" * (len(servers) + 4))
for c in (1, 16, 64):
    for size in (20, 1024, 65536):
        rates = [median(s, c, size) for s in servers]
        ours = rates[0]
        ratio = lambda other: f"{ours / other:.2f}x" if other else "n/a"
        p99 = lambda s: median(s, c, size, key=lambda d: d.get("latency_ms", {}).get("p99", 0))
        best = min((p99(s), s) for s in servers[1:])
        print(f"| {c} | {size} | " + " | ".join(f"{r:,.0f}" for r in rates) + f" | {ratio(rates[2])} | {ratio(rates[1])} | {p99('wsproto'):.3f} | {best[0]:.3f} ({best[1]}) |")
PY
