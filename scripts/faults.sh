#!/usr/bin/env bash
# Faults on a real network stack: `wsproto serve` in one network namespace, `wsproto connect` in
# another, joined by a veth pair, with the link taken away under them. Short timers: pings every
# second, two seconds to answer.
#
# 1. A silent cut: the link goes down (no FIN, no RST reaches anyone). The client reports the
#    keepalive timeout and exits, and the server closes its side, each within ping interval +
#    ping timeout (3 s, checked against 5 s for scheduling slack); the server's open file
#    descriptors return to where they were before the client came.
# 2. A half-open connection: the client's host vanishes (its namespace and link are deleted, so
#    its sockets go without a word) and comes back as a new host that connects again. The new
#    connection echoes at once; the server reaps the old one on its keepalive, and its file
#    descriptors return to the baseline.
#
# Needs root and network namespaces (`ip netns`); elsewhere it says why and skips. Removes every
# namespace and link and kills every process it made, whatever happens.
#
# Usage: scripts/faults.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
out=$PWD/target/faults
mkdir -p "$out"

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! ip netns add "wsf-probe-$$" 2>/dev/null; then
  echo "faults: skipped: needs root and network namespaces (ip netns add)"
  exit 0
fi
ip netns del "wsf-probe-$$"

cargo build --profile fast -p wsproto-cli --bin wsproto
bin=$CARGO_TARGET_DIR/fast/wsproto

srv=wsf-srv-$$
cli=wsf-cli-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$srv" 2>/dev/null || true
  ip netns del "$cli" 2>/dev/null || true
}
trap cleanup EXIT

fail() {
  echo "faults: FAILED: $*" >&2
  echo "--- server log" >&2
  tail -n 20 "$out/server.log" >&2 || true
  exit 1
}

# client_host N: a fresh client namespace with a link of its own to the server's (both ends up):
# link wsfcPID-N, subnet 10.231.N.0/24, the server at 10.231.N.1. (A vanished host's link and
# subnet may linger while the kernel tears its namespace down, so each host gets new ones.)
client_host() {
  host=$1
  link=wsfc$$-$host
  ip netns add "$cli"
  ip -n "$cli" link set lo up
  ip link add "$link" netns "$cli" type veth peer name "wsfs$$-$host" netns "$srv"
  ip -n "$cli" addr add "10.231.$host.2/24" dev "$link"
  ip -n "$srv" addr add "10.231.$host.1/24" dev "wsfs$$-$host"
  ip -n "$cli" link set "$link" up
  ip -n "$srv" link set "wsfs$$-$host" up
  server_addr=10.231.$host.1
}

ip netns add "$srv"
ip -n "$srv" link set lo up
client_host 7

ip netns exec "$srv" "$bin" serve 0.0.0.0:9001 --ping-interval 1 --ping-timeout 2 >"$out/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 100); do grep -q 'serving on' "$out/server.log" && break; sleep 0.1; done
grep -q 'serving on' "$out/server.log" || fail "the server did not start"
fds() { ls "/proc/$server/fd" | wc -l; }
baseline=$(fds)

# start_client NAME: `wsproto connect` to /echo in the client namespace, its input held open.
start_client() {
  local name=$1
  mkfifo "$out/$name.in"
  ip netns exec "$cli" "$bin" connect "ws://$server_addr:9001/echo" --ping-interval 1 --ping-timeout 2 \
    <"$out/$name.in" >"$out/$name.out" 2>"$out/$name.err" &
  client=$!
  pids+=("$client")
  exec {hold}>"$out/$name.in"
  for _ in $(seq 1 50); do grep -q '^connected' "$out/$name.err" && return 0; sleep 0.1; done
  fail "$name did not connect: $(cat "$out/$name.err")"
}

# within SECONDS COMMAND...: waits until COMMAND succeeds; fails after SECONDS.
within() {
  local limit=$1; shift
  local start=$SECONDS
  while ! "$@"; do
    [ $((SECONDS - start)) -le "$limit" ] || return 1
    sleep 0.1
  done
}
gone() { ! kill -0 "$1" 2>/dev/null; }
at_baseline() { [ "$(fds)" -le "$baseline" ]; }
reaped() { [ "$(grep -c 'closed: keepalive ping timed out' "$out/server.log")" -ge "$1" ]; }
rm -f "$out"/*.in

# 1. A silent cut.
start_client cut
echo "hello over the link" >&"$hold"
within 5 grep -q 'hello over the link' "$out/cut.out" || fail "no echo before the cut"
[ "$(fds)" -gt "$baseline" ] || fail "the server's descriptors did not grow with a client"
ip -n "$cli" link set "$link" down
cut_at=$SECONDS
within 5 gone "$client" || fail "the client did not notice the cut within 5 s"
grep -q -i 'keepalive' "$out/cut.err" || fail "the client did not report the keepalive: $(cat "$out/cut.err")"
within 5 reaped 1 || fail "the server did not reap its side within 5 s of the cut"
within 2 at_baseline || fail "the server holds $(fds) descriptors, $baseline before"
echo "faults: silent cut: client and server both gave up within $((SECONDS - cut_at)) s; descriptors back to $baseline"
exec {hold}>&-

# 2. A half-open connection: the host vanishes without a word, and comes back.
ip -n "$cli" link set "$link" up
start_client vanishing
echo "before vanishing" >&"$hold"
within 5 grep -q 'before vanishing' "$out/vanishing.out" || fail "no echo before vanishing"
old=$client
# The link first, so that the dying process's FIN goes nowhere; then the process; then the
# namespace, which takes its orphaned sockets and the link with it.
ip -n "$cli" link set "$link" down
kill -9 "$old" 2>/dev/null || true
within 5 gone "$old" || fail "the vanishing client would not die"
ip netns del "$cli"
exec {hold}>&-
vanished_at=$SECONDS
client_host 8
start_client back
echo "back again" >&"$hold"
within 5 grep -q 'back again' "$out/back.out" || fail "the returning host got no echo"
within 5 reaped 2 || fail "the server did not reap the half-open connection within 5 s"
kill "$client" 2>/dev/null || true
exec {hold}>&-
within 5 at_baseline || fail "after the half-open connection, the server holds $(fds) descriptors, $baseline before"
echo "faults: half-open: the old connection reaped $((SECONDS - vanished_at)) s after its host vanished; the new one echoed; descriptors back to $baseline"
echo "faults: passed"
