# Shared by scripts/e2e_bench.sh and scripts/idle_memory.sh: builds wsproto and the peers' echo
# servers, pins processes to a core, and starts and stops one server at a time. Source it after
# setting CARGO_TARGET_DIR and `out` (the log folder).

cargo build --profile fast -p wsproto-cli --bin wsproto
cargo build --profile fast -p wsproto-echo-servers --bins
bin=$CARGO_TARGET_DIR/fast
# exec, so that a backgrounded `pin ... &` has the server's own process id.
pin() { if command -v taskset >/dev/null; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }

server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true' EXIT

# start_server PREFIX NAME CMD...: runs CMD on core 0 and waits until it prints its address
# (wsproto serve and every echo server print one), which lands in $addr; $server_pid is its pid.
start_server() {
  local prefix=$1 name=$2; shift 2
  (pin 0 "$@") >"$out/$name.server.log" 2>&1 &
  server_pid=$!
  addr=""
  for _ in $(seq 1 100); do
    addr=$(grep -o -E '(listening on |serving on http://)[0-9.:]+' "$out/$name.server.log" | head -n 1 | grep -o -E '[0-9.]+:[0-9]+') || true
    [ -n "$addr" ] && return 0
    sleep 0.1
  done
  echo "$prefix: $name did not start" >&2
  exit 1
}

stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
