#!/usr/bin/env bash
# Autobahn|Testsuite against wsproto, every mode at once:
#   - server mode: wstest's fuzzing client against `wsproto serve --deflate --deflate-idle 0` at /echo
#     (compression state freed and rebuilt after every message, the hardest case for hibernation),
#     and a second one against the axum example (`crates/wsproto-axum/examples/axum_echo_server.rs`: hyper's
#     HTTP/1.1 upgrade, the extractor's defaults);
#   - client mode: wstest's fuzzing server against the tokio and the blocking client drivers.
# Fails unless every case in every mode passes strictly (tools in scripts/autobahn/).
#
# Usage: scripts/autobahn.sh [--quick]
#   --quick leaves out the large compression payloads (373 of 517 cases, about a minute a mode).
# Reports land in target/autobahn/{server,axum-server,tokio-client,blocking-client}/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out=$root/target/autobahn
quick=false
[ "${1:-}" = "--quick" ] && quick=true

if $quick; then
  exclude='["12.*.[7-9]*", "12.*.1[0-8]*", "13.*.[7-9]*", "13.*.1[0-8]*"]'
else
  exclude='[]'
fi

echo "autobahn: installing wstest"
wstest=$(scripts/autobahn/setup.sh | tail -n 1)
echo "autobahn: building the server and the client drivers"
cargo build --profile fast -p wsproto-cli --bin wsproto
cargo build --profile fast -p wsproto-tokio --example tokio_autobahn_client
cargo build --profile fast -p wsproto-blocking --example blocking_autobahn_client
cargo build --profile fast -p wsproto-axum --example axum_echo_server
bin=$CARGO_TARGET_DIR/fast

rm -rf "$out"
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "autobahn: nothing listens on port $1" >&2
  return 1
}

# Server mode.
"$bin/wsproto" -q serve 127.0.0.1:19001 --deflate --deflate-idle 0 --ping-interval 0 >"$out/server.log" 2>&1 &
pids+=($!)
wait_port 19001
cat >"$out/fuzzingclient.json" <<JSON
{"outdir": "$out/server", "servers": [{"agent": "wsproto-serve", "url": "ws://127.0.0.1:19001/echo"}],
 "cases": ["*"], "exclude-cases": $exclude, "exclude-agent-cases": {}}
JSON

# Server mode, through axum.
"$bin/examples/axum_echo_server" 127.0.0.1:19004 >"$out/axum-server.log" 2>&1 &
pids+=($!)
wait_port 19004
cat >"$out/fuzzingclient-axum.json" <<JSON
{"outdir": "$out/axum-server", "servers": [{"agent": "wsproto-axum", "url": "ws://127.0.0.1:19004/echo"}],
 "cases": ["*"], "exclude-cases": $exclude, "exclude-agent-cases": {}}
JSON

# Client mode: one fuzzing server per client driver.
for mode in tokio:19002 blocking:19003; do
  name=${mode%%:*}
  port=${mode##*:}
  cat >"$out/fuzzingserver-$name.json" <<JSON
{"url": "ws://127.0.0.1:$port", "outdir": "$out/$name-client", "cases": ["*"],
 "exclude-cases": $exclude, "exclude-agent-cases": {}}
JSON
  (cd "$out" && exec "$wstest" -m fuzzingserver -s "fuzzingserver-$name.json" -u 0 >"fuzzingserver-$name.log" 2>&1) &
  pids+=($!)
done
wait_port 19002
wait_port 19003

started=$SECONDS
(cd "$out" && exec "$wstest" -m fuzzingclient -s fuzzingclient.json >fuzzingclient.log 2>&1) &
client_mode_server=$!
(cd "$out" && exec "$wstest" -m fuzzingclient -s fuzzingclient-axum.json >fuzzingclient-axum.log 2>&1) &
axum_server=$!
"$bin/examples/tokio_autobahn_client" ws://127.0.0.1:19002 wsproto-tokio >"$out/tokio-client.log" 2>&1 &
tokio_client=$!
"$bin/examples/blocking_autobahn_client" ws://127.0.0.1:19003 wsproto-blocking >"$out/blocking-client.log" 2>&1 &
blocking_client=$!

status=0
wait "$client_mode_server" || { echo "autobahn: wstest fuzzingclient failed (see $out/fuzzingclient.log)"; status=1; }
wait "$axum_server" || { echo "autobahn: wstest fuzzingclient against axum failed (see $out/fuzzingclient-axum.log)"; status=1; }
wait "$tokio_client" || { echo "autobahn: the tokio client driver failed (see $out/tokio-client.log)"; status=1; }
wait "$blocking_client" || { echo "autobahn: the blocking client driver failed (see $out/blocking-client.log)"; status=1; }
echo "autobahn: all modes finished in $((SECONDS - started)) s"

for report in server axum-server tokio-client blocking-client; do
  echo "--- $report"
  python3 scripts/autobahn/summarize.py "$out/$report/index.json" || status=1
done
exit $status
