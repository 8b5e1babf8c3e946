#!/usr/bin/env bash
# Real-browser test: headless Chromium (Debian's package) driven by playwright-core talks to
# `wsproto serve --deflate` — the chat page in two tabs, and the page's own WebSocket on /echo —
# once in clear text (HTTP/1.1), once over HTTPS, where the WebSockets must go over HTTP/2, and once
# with two `serve --redis` nodes, a tab on each.
# Installs what it needs (chromium via apt-get, playwright-core via npm into a cache dir).
#
# Usage: scripts/browser.sh
# Screenshots: target/browser/chat-{http1,h2-tls,redis-node}.png; server logs: target/browser/server-*.log.
# BROWSER_CACHE overrides where playwright-core is installed (default ~/.cache/wsproto-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out=$root/target/browser
cache=${BROWSER_CACHE:-$HOME/.cache/wsproto-browser}
# Pinned so that a new release can't change the test under us; it drives Debian's Chromium over CDP.
playwright_version=1.65.1

if ! command -v chromium >/dev/null; then
  echo "browser: installing chromium (apt-get)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ "$(node -p "try { require('$cache/node_modules/playwright-core/package.json').version } catch { '' }")" != "$playwright_version" ]; then
  echo "browser: installing playwright-core $playwright_version (npm)"
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "playwright-core@$playwright_version" >/dev/null
fi

echo "browser: building wsproto"
cargo build --profile fast -p wsproto-cli --bin wsproto
mkdir -p "$out"

# run_against LABEL SERVE-ARGS...: starts `wsproto serve 127.0.0.1:0 SERVE-ARGS...` and runs the
# page test against it. Port 0: the server picks a free port and prints it ("wsproto serving on
# http://ADDR/ ..."), so there is no race with another process over a port we picked.
# --ping-interval 1: keepalive pings during the test's idle period, which Chromium must answer.
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# start_serve LABEL SERVE-ARGS...: starts a server and sets $url to its address.
start_serve() {
  local label=$1; shift
  local log=$out/server-$label.log
  "$CARGO_TARGET_DIR/fast/wsproto" serve 127.0.0.1:0 --deflate --ping-interval 1 "$@" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  url=""
  for _ in $(seq 1 100); do
    url=$(grep -o -E 'serving on https?://[^ ]*' "$log" | head -n 1 | sed 's/^serving on //; s#/$##') || true
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "browser: the server exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "browser: the server did not start (see $log)" >&2; exit 1; }
}

# stop_all: stops every process started so far.
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
}

# page_test LABEL [ENV=VALUE...]: runs the page test with $url (and the extra environment).
page_test() {
  local label=$1; shift
  # NODE_PATH does not apply to ES module imports, so the test resolves playwright-core itself
  # from BROWSER_CACHE.
  local status=0
  env WSPROTO_URL="$url" BROWSER_CACHE="$cache" SCREENSHOT="$out/chat-$label.png" "$@" node scripts/browser/test.mjs || status=$?
  stop_all
  if [ "$status" -ne 0 ]; then
    echo "browser: FAILED over $label (server logs: $out/server-$label*.log)" >&2
    exit "$status"
  fi
}

run_against() {
  local label=$1; shift
  start_serve "$label" "$@"
  echo "browser: $label ($url)"
  page_test "$label"
}

# Clear text: HTTP/1.1, as browsers speak it without TLS.
run_against http1
if grep -q 'http=HTTP/2.0' "$out/server-http1.log"; then
  echo "browser: FAILED: a clear-text WebSocket went over HTTP/2 (see $out/server-http1.log)" >&2
  exit 1
fi

# HTTPS: Chromium loads the page over HTTP/2 (ALPN) and, because serve advertises extended
# CONNECT, opens its WebSockets as streams of that connection (RFC 8441). serve logs each
# WebSocket's HTTP version; all three here (two chat tabs and the echo) must be HTTP/2.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
run_against h2-tls --tls-cert "$out/cert.pem" --tls-key "$out/key.pem"
h2=$(grep 'connected' "$out/server-h2-tls.log" | grep -c 'http=HTTP/2.0' || true)
h1=$(grep 'connected' "$out/server-h2-tls.log" | grep -c 'http=HTTP/1.1' || true)
echo "browser: over HTTPS, $h2 WebSockets went over HTTP/2 and $h1 over HTTP/1.1"
if [ "$h2" -lt 3 ] || [ "$h1" -ne 0 ]; then
  echo "browser: FAILED: every WebSocket over HTTPS should use HTTP/2 (see $out/server-h2-tls.log)" >&2
  exit 1
fi

# Two nodes joined through Redis (`serve --redis`): Alice's tab on one node, Bob's on the other, in
# the room "team"; each must see the other's lines and the count across both nodes.
if ! command -v redis-server >/dev/null; then
  echo "browser: installing redis-server (apt-get)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$out/redis.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.1; done
start_serve redis-node1 --redis "redis://127.0.0.1:$redis_port/"
url1=$url
start_serve redis-node2 --redis "redis://127.0.0.1:$redis_port/"
url2=$url
url=$url1
echo "browser: two nodes through Redis ($url1 and $url2)"
page_test redis-node WSPROTO_URL2="$url2" ROOM=team
for node in 1 2; do
  if ! grep 'connected' "$out/server-redis-node$node.log" | grep -q 'path="/chat/team"'; then
    echo "browser: FAILED: no chat tab was on node $node (see $out/server-redis-node$node.log)" >&2
    exit 1
  fi
done
echo "browser: passed over HTTP/1.1, over HTTP/2, and across two nodes through Redis"
