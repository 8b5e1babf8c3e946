#!/usr/bin/env bash
# Interoperability with real peers: Python `websockets` and Node `ws` (the latest of each), in
# both directions:
#   - their clients (scripts/peers/python_peer.py, node_peer.mjs) against `wsproto serve`, against
#     `peer_check serve` for what the server starts (fragmented messages, close codes), and against
#     the axum example (crates/wsproto-axum/examples/axum_echo_server.rs);
#   - our tokio client (crates/wsproto-tests/examples/peer_check.rs) against their servers.
# For each permessage-deflate variant (off, defaults, each RFC 7692 parameter, all four): the
# negotiated response, messages of 0 B to 16 MiB (text and binary, compressible and random; the
# bytes on the wire show whether both ends compressed), fragmented messages, pings, a close; and
# every close code, sent by either side.
#
# Usage: scripts/peers.sh
# Installs the peers into ${PEERS_CACHE:-~/.cache/wsproto-peers}; logs land in
# $CARGO_TARGET_DIR/peers/. Prints one line per case and exits non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cache=${PEERS_CACHE:-$HOME/.cache/wsproto-peers}
out=$CARGO_TARGET_DIR/peers
started=$SECONDS

say() { printf 'peers: %s\n' "$*"; }

# --- The peers, latest versions, installed into the cache (an update where one is there).
say "installing python websockets and node ws into $cache"
source "$root/scripts/lib/peers_install.sh"
say "python websockets $("$python" -c 'import websockets; print(websockets.__version__)'), node ws $(node -p "require('$cache/node/node_modules/ws/package.json').version")"

# --- Our server and client.
say "building the server and the client"
cargo build --quiet --profile fast -p wsproto-cli --bin wsproto
cargo build --quiet --profile fast -p wsproto-tests --example peer_check
bin=$CARGO_TARGET_DIR/fast
rm -rf "$out"
mkdir -p "$out"

# --- Processes: every server this script starts is stopped by its own pid.
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME PATTERN COMMAND...: starts COMMAND in the background and waits for its first
# line matching PATTERN (a sed expression that prints the port). Sets $server_pid and $port.
start_server() {
  local name=$1 pattern=$2
  shift 2
  : >"$out/$name.out"
  "$@" >"$out/$name.out" 2>"$out/$name.err" &
  server_pid=$!
  pids+=("$server_pid")
  port=
  for _ in $(seq 1 100); do
    port=$(sed -n "$pattern" "$out/$name.out" | head -n 1)
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL $name: the server did not start (see $out/$name.err)"
  cat "$out/$name.err" >&2 || true
  return 1
}

stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

failed=0
# run LOG COMMAND...: runs one client, printing and logging its lines; a client that fails
# without saying why still counts as a failure.
run() {
  local log=$out/$1.log
  shift
  local status=0
  "$@" >"$log" 2>&1 || status=$?
  cat "$log"
  if [ "$status" -ne 0 ]; then
    failed=1
    grep -q '^FAIL' "$log" || echo "FAIL $(basename "$log" .log): exited with status $status (see $log)" | tee -a "$log"
  fi
}

variants=(off default server_no_context_takeover client_no_context_takeover server_max_window_bits client_max_window_bits all)

# What a server answers to an offer of each variant (for their servers: configured with it).
declare -A answer=(
  [off]=none
  [default]=""
  [server_no_context_takeover]="server_no_context_takeover"
  [client_no_context_takeover]="client_no_context_takeover"
  [server_max_window_bits]="server_max_window_bits=10"
  [client_max_window_bits]="client_max_window_bits=12"
  [all]="server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"
)
# websockets' own default server settings (compression="deflate") limit both windows to 12 bits;
# ws's default (perMessageDeflate: true) has no parameters.
python_default="server_max_window_bits=12; client_max_window_bits=12"
node_default=""

# --- Their clients against our server: one with permessage-deflate, one without.
ours='s|.*ws://127\.0\.0\.1:\([0-9]*\)/echo.*|\1|p'
# Default limits: a 16 MiB message must fit, compressed or not.
start_server wsproto-deflate "$ours" "$bin/wsproto" serve 127.0.0.1:0 --deflate --ping-interval 1
deflate_url=ws://127.0.0.1:$port/echo
start_server wsproto-plain "$ours" "$bin/wsproto" serve 127.0.0.1:0 --no-deflate --ping-interval 1
plain_url=ws://127.0.0.1:$port/echo
listening='s|^listening on \([0-9]*\)$|\1|p'
start_server peer-check-serve "$listening" "$bin/examples/peer_check" serve 0
serve_url=ws://127.0.0.1:$port

for peer in python node; do
  if [ "$peer" = python ]; then client=("$python" scripts/peers/python_peer.py client); else client=(node scripts/peers/node_peer.mjs client); fi
  say "$peer client → wsproto server"
  for v in "${variants[@]}"; do
    run "$peer-client-$v" "${client[@]}" "$deflate_url" --deflate "$v" --expect "${answer[$v]}"
  done
  # Offering compression to a server without it: plain messages.
  run "$peer-client-declined" "${client[@]}" "$plain_url" --deflate default --expect none --server "wsproto server without deflate"
  run "$peer-client-close-codes" "${client[@]}" "$deflate_url" --close-codes
  run "$peer-client-server-cases" "${client[@]}" "$serve_url" --server-cases --deflate default --server "wsproto server (peer_check serve)"
done

# --- Their clients against an axum application with wsproto-axum's extractor (hyper does the
# HTTP; permessage-deflate from the extractor's default configuration).
cargo build --quiet --profile fast -p wsproto-axum --example axum_echo_server
start_server axum-example 's|^listening on 127\.0\.0\.1:\([0-9]*\)$|\1|p' "$bin/examples/axum_echo_server" 127.0.0.1:0
axum_url=ws://127.0.0.1:$port/echo
for peer in python node; do
  if [ "$peer" = python ]; then client=("$python" scripts/peers/python_peer.py client); else client=(node scripts/peers/node_peer.mjs client); fi
  say "$peer client → axum + wsproto-axum"
  run "$peer-client-axum" "${client[@]}" "$axum_url" --deflate default --expect "${answer[default]}" --server "axum + wsproto-axum"
done
run python-burst-axum "$python" scripts/peers/python_peer.py burst "$axum_url" 300 --server "axum + wsproto-axum"
stop_server "$server_pid"

# --- `wsproto connect` prints every echo, every time: at the end of its input the last echoes
# may not have been sent yet, and these servers stop sending once they see a close frame, so the
# client closes only after the server has answered a ping and then been quiet for --linger. 50
# runs per server, each with a few lines of 0 B to 64 KiB.
connect_input() {
  local sizes=(0 1 3 125 126 1000 65535 65536 4096 20) n=$1 i size
  for ((i = 0; i < 1 + n % 7; i++)); do
    size=${sizes[$(((n * 3 + i * 5) % ${#sizes[@]}))]}
    head -c "$size" /dev/zero | tr '\0' x
    echo
  done
}
connect_loop() {
  local peer=$1 url=$2 run name="wsproto connect → $1 server" f=$out/connect-$1
  for run in $(seq 0 49); do
    connect_input "$run" >"$f.in"
    if ! "$bin/wsproto" -q connect --linger 0.3 "$url" <"$f.in" >"$f.got" 2>"$f.err"; then
      echo "FAIL $name: run $run exited with an error: $(head -c 300 "$f.err")"
      return 1
    fi
    if ! cmp -s "$f.in" "$f.got"; then
      echo "FAIL $name: run $run printed $(wc -l <"$f.got") of $(wc -l <"$f.in") echoes, or one differs"
      return 1
    fi
  done
  echo "ok $name: every echo printed in 50 runs"
}
for peer in python node; do
  if [ "$peer" = python ]; then server=("$python" scripts/peers/python_peer.py server 0); else server=(node scripts/peers/node_peer.mjs server 0); fi
  start_server "$peer-server-connect" "$listening" "${server[@]}" default
  run "wsproto-connect-$peer" connect_loop "$peer" "ws://127.0.0.1:$port/"
  stop_server "$server_pid"
done

# --- Our client against their servers, one server per variant.
for peer in python node; do
  if [ "$peer" = python ]; then server=("$python" scripts/peers/python_peer.py server 0); else server=(node scripts/peers/node_peer.mjs server 0); fi
  say "wsproto client → $peer server"
  for v in "${variants[@]}"; do
    expect=${answer[$v]}
    if [ "$v" = default ]; then
      if [ "$peer" = python ]; then expect=$python_default; else expect=$node_default; fi
    fi
    start_server "$peer-server-$v" "$listening" "${server[@]}" "$v"
    run "$peer-server-$v" "$bin/examples/peer_check" "ws://127.0.0.1:$port" --peer "$peer" --deflate "$v" --expect "$expect"
    if [ "$v" = off ]; then
      run "$peer-server-close-codes" "$bin/examples/peer_check" "ws://127.0.0.1:$port" --peer "$peer" --close-codes
    fi
    stop_server "$server_pid"
  done
done

passed=$(cat "$out"/*.log | grep -c '^ok ' || true)
failures=$(cat "$out"/*.log | grep -c '^FAIL' || true)
say "finished in $((SECONDS - started)) s; logs in $out"
if [ "$failures" -gt 0 ]; then
  echo "--- failures"
  cat "$out"/*.log | grep '^FAIL'
  failed=1
fi
echo "peers: $passed passed, $failures failed"
exit $failed
