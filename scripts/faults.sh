#!/usr/bin/env bash
# Faults on a real network stack: `wsproto serve` in one network namespace, clients in others,
# joined by veth pairs, with the links made lossy, slow, tiny or taken away under them. The
# clients are `wsproto connect` and crates/wsproto-tests/examples/netfault.rs, which drives the
# tokio, smol and blocking adapters alike (and is the delay relay).
#
# 1. A silent cut: the link goes down (no FIN, no RST reaches anyone). Every client (`wsproto
#    connect`, and the tokio, smol and blocking adapters) reports the keepalive timeout and
#    exits, and the server closes its side, each within ping interval + ping timeout (3 s,
#    checked against 5 s for scheduling slack); the server's open file descriptors return to
#    where they were before the clients came.
# 2. A half-open connection: the client's host vanishes (its namespace and link are deleted, so
#    its sockets go without a word) and comes back as a new host that connects again. The new
#    connection echoes at once; the server reaps the old one on its keepalive, and its file
#    descriptors return to the baseline.
# 3. Loss and delay: nftables drops 5% of the packets each way at random (segmentation offload
#    off, so a packet is one MTU), and a relay holds every chunk 100 ms ± 50 ms each way. Each
#    adapter, with and without permessage-deflate (six clients at once), sends 10,000 messages of
#    20 B to 256 KiB (log-uniform) and gets every one back intact and in order; throughput and
#    latency are printed.
# 4. A tiny MTU (576) and a slow reader: a link of 40 Mbit/s (tbf) with small socket buffers;
#    a tokio and a smol client each send 16 MiB without reading. The server's backpressure must
#    stop them well short of it, its memory must stay within 6 MiB of where it was, and another
#    client on the same link must still get its echoes meanwhile. Then the slow readers read,
#    and every echo arrives intact.
# 5. A link that stalls during the closing handshake: every packet dropped, each adapter's
#    client closes and its close timeout (1 s) ends the wait; then the server is stopped, sends
#    1001 to its clients, and its close timeout ends each of those waits before its shutdown
#    grace does.
#
# Needs root, network namespaces (`ip netns`), `nft` (Debian's nftables) and `tc`; without root
# or namespaces it says why and skips. Removes every namespace and link and kills every process
# it made, whatever happens.
#
# Usage: scripts/faults.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
out=$PWD/target/faults
mkdir -p "$out"
rm -f "$out"/*

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! ip netns add "wsf-probe-$$" 2>/dev/null; then
  echo "faults: skipped: needs root and network namespaces (ip netns add)"
  exit 0
fi
ip netns del "wsf-probe-$$"
for tool in nft tc; do
  command -v "$tool" >/dev/null || { echo "faults: FAILED: needs $tool (Debian: apt-get install nftables iproute2)" >&2; exit 1; }
done

cargo build --profile fast -p wsproto-cli --bin wsproto
cargo build --profile fast -p wsproto-tests --example netfault
bin=$CARGO_TARGET_DIR/fast/wsproto
netfault=$CARGO_TARGET_DIR/fast/examples/netfault

srv=wsf-srv-$$
hosts=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for h in "${hosts[@]}"; do ip netns del "$h" 2>/dev/null || true; done
  ip netns del "$srv" 2>/dev/null || true
}
trap cleanup EXIT

fail() {
  echo "faults: FAILED: $*" >&2
  for log in "$out"/server*.log; do
    echo "--- $log" >&2
    tail -n 20 "$log" >&2 || true
  done
  exit 1
}

# client_host N: a fresh client namespace ($cli) with a link of its own ($link, the server's end
# $slink) to the server's: subnet 10.231.N.0/24, the server at 10.231.N.1. (A vanished host's link
# and subnet may linger while the kernel tears its namespace down, so each host gets new ones.)
client_host() {
  host=$1
  cli=wsf-cli-$$-$host
  link=wsfc$$-$host
  slink=wsfs$$-$host
  ip netns add "$cli"
  hosts+=("$cli")
  ip -n "$cli" link set lo up
  ip link add "$link" netns "$cli" type veth peer name "$slink" netns "$srv"
  ip -n "$cli" addr add "10.231.$host.2/24" dev "$link"
  ip -n "$srv" addr add "10.231.$host.1/24" dev "$slink"
  ip -n "$cli" link set "$link" up
  ip -n "$srv" link set "$slink" up
  server_addr=10.231.$host.1
}

# nft_drop NS LINK PERCENT: drops PERCENT% of the packets arriving on LINK in NS, at random.
nft_drop() {
  local chance=(numgen random mod 100 '<' "$3")
  [ "$3" -lt 100 ] || chance=()
  ip netns exec "$1" nft add table inet wsfault 2>/dev/null || true
  ip netns exec "$1" nft add chain inet wsfault input '{ type filter hook input priority 0; }' 2>/dev/null || true
  ip netns exec "$1" nft add rule inet wsfault input iifname "\"$2\"" "${chance[@]}" counter drop
}

# start_server NAME ADDR ARGS...: `wsproto serve` in the server namespace; $server is its pid.
start_server() {
  local name=$1 addr=$2
  shift 2
  ip netns exec "$srv" "$bin" serve "$addr" "$@" >"$out/$name.log" 2>&1 &
  server=$!
  pids+=("$server")
  for _ in $(seq 1 100); do grep -q 'serving on' "$out/$name.log" && return 0; sleep 0.1; done
  fail "$name did not start"
}
fds() { ls "/proc/$1/fd" | wc -l; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

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
all_gone() { local p; for p in "$@"; do gone "$p" || return 1; done; }
count_in() { grep -c "$1" "$2" || true; }
# exited_ok PID: the (finished) background process's exit status was 0.
exited_ok() { wait "$1"; }

ip netns add "$srv"
ip -n "$srv" link set lo up
client_host 7

# Server A: short keepalive and close timers, for the cut, the half-open host and the stall.
start_server serverA 0.0.0.0:9001 --ping-interval 1 --ping-timeout 2 --close-timeout 1
serverA=$server
baseline=$(fds "$serverA")
reaped() { [ "$(count_in 'closed: keepalive ping timed out' "$out/serverA.log")" -ge "$1" ]; }

# start_connect NAME: `wsproto connect` to /echo in the client namespace, its input held open.
start_connect() {
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

# start_netfault NAME MODE ARGS...: a netfault client in the client namespace; waits for its
# `ready` when MODE is hold or close (whose input is then a held-open fifo, fd ${name}_in).
start_netfault() {
  local name=$1 mode=$2
  shift 2
  mkfifo "$out/$name.in"
  ip netns exec "$cli" "$netfault" "$mode" "$@" <"$out/$name.in" >"$out/$name.out" 2>"$out/$name.err" &
  pids+=($!)
  eval "${name}_pid=$!"
  exec {fd}>"$out/$name.in"
  eval "${name}_in=$fd"
  if [ "$mode" = hold ] || [ "$mode" = close ]; then
    for _ in $(seq 1 50); do grep -q '^ready' "$out/$name.out" && return 0; sleep 0.1; done
    fail "$name did not get ready: $(cat "$out/$name.err")"
  fi
}

# 1. A silent cut, for `wsproto connect` and each adapter's client.
start_connect cut
for a in tokio smol blocking; do
  start_netfault "hold_$a" hold "ws://$server_addr:9001/echo" --adapter "$a" --ping-interval 1 --ping-timeout 2
done
echo "hello over the link" >&"$hold"
within 5 grep -q 'hello over the link' "$out/cut.out" || fail "no echo before the cut"
[ "$(fds "$serverA")" -gt "$baseline" ] || fail "the server's descriptors did not grow with clients"
ip -n "$cli" link set "$link" down
cut_at=$SECONDS
within 5 all_gone "$client" "$hold_tokio_pid" "$hold_smol_pid" "$hold_blocking_pid" || fail "a client did not notice the cut within 5 s"
grep -q -i 'keepalive' "$out/cut.err" || fail "wsproto connect did not report the keepalive: $(cat "$out/cut.err")"
for a in tokio smol blocking; do
  pid=hold_${a}_pid
  exited_ok "${!pid}" || fail "the $a client: $(cat "$out/hold_$a.err" "$out/hold_$a.out")"
done
within 5 reaped 4 || fail "the server did not reap all four connections within 5 s of the cut"
within 2 eval '[ "$(fds "$serverA")" -le "$baseline" ]' || fail "the server holds $(fds "$serverA") descriptors, $baseline before"
echo "faults: silent cut: wsproto connect and the tokio, smol and blocking clients all reported the keepalive, and the server reaped all four, within $((SECONDS - cut_at)) s; descriptors back to $baseline"
grep -h '^keepalive' "$out"/hold_*.out | sed 's/^/faults:   /'
exec {hold}>&-

# 2. A half-open connection: the host vanishes without a word, and comes back.
ip -n "$cli" link set "$link" up
start_connect vanishing
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
start_connect back
echo "back again" >&"$hold"
within 5 grep -q 'back again' "$out/back.out" || fail "the returning host got no echo"
within 5 reaped 5 || fail "the server did not reap the half-open connection within 5 s"
kill "$client" 2>/dev/null || true
exec {hold}>&-
within 5 eval '[ "$(fds "$serverA")" -le "$baseline" ]' || fail "after the half-open connection, the server holds $(fds "$serverA") descriptors, $baseline before"
echo "faults: half-open: the old connection reaped $((SECONDS - vanished_at)) s after its host vanished; the new one echoed; descriptors back to $baseline"
stall_host=$cli stall_link=$link stall_slink=$slink stall_addr=$server_addr

# Server B: the default keepalive (20 s), as users run it, for the loss and the slow reader (with
# pings every second, a pong stuck behind a retransmission would end the connection).
start_server serverB 0.0.0.0:9002
serverB=$server

# 3. Loss and delay.
client_host 9
# One MTU per packet (no segmentation offload), so that a drop loses one packet, not 45.
ip -n "$cli" link set "$link" gso_max_segs 1
ip -n "$srv" link set "$slink" gso_max_segs 1
nft_drop "$cli" "$link" 5
nft_drop "$srv" "$slink" 5
ip netns exec "$cli" "$netfault" relay 127.0.0.1:9100 "$server_addr:9002" --delay-ms 100 --jitter-ms 50 >"$out/relay.log" 2>&1 &
pids+=($!)
within 5 grep -q '^relaying' "$out/relay.log" || fail "the relay did not start: $(cat "$out/relay.log")"
loss_pids=()
for a in tokio smol blocking; do
  for d in "" --deflate; do
    ip netns exec "$cli" "$netfault" echo ws://127.0.0.1:9100/echo --adapter "$a" $d --messages 10000 --min 20 --max 262144 \
      >"$out/loss-$a$d.out" 2>&1 &
    loss_pids+=($!)
    pids+=($!)
  done
done
loss_at=$SECONDS
for p in "${loss_pids[@]}"; do wait "$p" || fail "a client under loss and delay: $(cat "$out"/loss-*.out)"; done
dropped=$(ip netns exec "$srv" nft list chain inet wsfault input | sed -n 's/.*packets \([0-9]*\).*/\1/p')
[ "${dropped:-0}" -gt 1000 ] || fail "the link dropped only ${dropped:-0} packets on the way to the server"
echo "faults: loss and delay (5% each way, 100 ± 50 ms each way, six clients at once): all 60,000 messages intact and in order in $((SECONDS - loss_at)) s; $dropped packets dropped on the way to the server"
cat "$out"/loss-*.out | sed 's/^/faults:   /'

# 4. A tiny MTU and a slow reader.
client_host 10
for end in "$cli $link" "$srv $slink"; do
  set -- $end
  ip -n "$1" link set "$2" mtu 576
  tc -n "$1" qdisc add dev "$2" root tbf rate 40mbit burst 32kb latency 50ms
done
# Small socket buffers (what the kernel may hold in between), so that the server's own limit is
# what is tested; the server namespace's apply to server B's new sockets.
for ns in "$cli" "$srv"; do
  ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_rmem="4096 65536 524288" net.ipv4.tcp_wmem="4096 16384 524288"
done
rss_before=$(rss_kib "$serverB")
for a in tokio smol; do
  start_netfault "flood_$a" flood "ws://$server_addr:9002/echo" --adapter "$a" --megabytes 16
done
within 30 eval 'grep -q "^stalled" "$out/flood_tokio.out" && grep -q "^stalled" "$out/flood_smol.out"' ||
  fail "the flooding clients did not stall: $(cat "$out"/flood_*.out "$out"/flood_*.err)"
for a in tokio smol; do
  stalled=$(sed -n 's/^stalled after \([0-9]*\) bytes.*/\1/p' "$out/flood_$a.out")
  [ "$stalled" -lt $((8 << 20)) ] || fail "the $a client sent $stalled bytes before backpressure stopped it"
done
rss_stalled=$(rss_kib "$serverB")
grown=$((rss_stalled - rss_before))
[ "$grown" -lt 6144 ] || fail "the server grew by $grown KiB holding two stalled slow readers"
ip netns exec "$cli" "$netfault" echo "ws://$server_addr:9002/echo" --adapter tokio --messages 300 --min 20 --max 16384 --window 65536 \
  >"$out/bystander.out" 2>&1 || fail "another client on the link, meanwhile: $(cat "$out/bystander.out")"
echo "faults: tiny MTU and slow readers: backpressure stopped the tokio client after $(sed -n 's/^stalled after \([0-9]*\).*/\1/p' "$out/flood_tokio.out") bytes and the smol one after $(sed -n 's/^stalled after \([0-9]*\).*/\1/p' "$out/flood_smol.out") of 16 MiB each; the server grew by $grown KiB; meanwhile another client:"
sed 's/^/faults:   /' "$out/bystander.out"
echo go >&"$flood_tokio_in"
echo go >&"$flood_smol_in"
within 60 all_gone "$flood_tokio_pid" "$flood_smol_pid" || fail "the slow readers did not finish reading within 60 s"
for a in tokio smol; do
  pid=flood_${a}_pid
  exited_ok "${!pid}" || fail "the $a slow reader: $(cat "$out/flood_$a.err")"
  grep -q '^all 256 echoes intact' "$out/flood_$a.out" || fail "the $a slow reader: $(cat "$out/flood_$a.out")"
done
echo "faults: the slow readers then read all 256 echoes of 64 KiB each, intact and in order"

# 5. A link that stalls during the closing handshake (server A, on host 8's link).
cli=$stall_host
for a in tokio smol blocking; do
  start_netfault "close_$a" close "ws://$stall_addr:9001/echo" --adapter "$a" --close-timeout 1
done
nft_drop "$cli" "$stall_link" 100
nft_drop "$srv" "$stall_slink" 100
stalled_at=$SECONDS
for a in tokio smol blocking; do fd=close_${a}_in; echo close >&"${!fd}"; done
within 4 all_gone "$close_tokio_pid" "$close_smol_pid" "$close_blocking_pid" || fail "a client's close timeout did not end its wait within 4 s"
for a in tokio smol blocking; do
  pid=close_${a}_pid
  exited_ok "${!pid}" || fail "the closing $a client: $(cat "$out/close_$a.err")"
done
echo "faults: stalled close: each client's close timeout (1 s) ended its wait:"
grep -h '^close timeout' "$out"/close_*.out | sed 's/^/faults:   /'
kill -TERM "$serverA"
within 5 gone "$serverA" || fail "server A did not stop within 5 s"
closed_late=$(count_in 'the peer did not answer the close frame in time' "$out/serverA.log")
[ "$closed_late" -eq 3 ] || fail "server A's close timeout ended $closed_late of its three stalled closing handshakes"
! grep -q 'did not close in time' "$out/serverA.log" || fail "server A's shutdown grace, not its close timeout, ended a closing handshake"
echo "faults: stalled close: stopped, the server sent 1001 to its three clients, and its close timeout ended each wait ($((SECONDS - stalled_at)) s since the stall)"
echo "faults: passed"
