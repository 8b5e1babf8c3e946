#!/usr/bin/env bash
# Real-browser test: headless Chromium (Debian's package) driven by playwright-core talks to
# `wsproto serve --deflate` — the chat page in two tabs, and the page's own WebSocket on /echo —
# once in clear text (HTTP/1.1) and once over HTTPS, where the WebSockets must go over HTTP/2.
# Installs what it needs (chromium via apt-get, playwright-core via npm into a cache dir).
#
# Usage: scripts/browser.sh
# Screenshots: target/browser/chat-{http1,h2-tls}.png; server logs: target/browser/server-*.log.
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
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null || true' EXIT
run_against() {
  local label=$1; shift
  local log=$out/server-$label.log
  "$CARGO_TARGET_DIR/fast/wsproto" serve 127.0.0.1:0 --deflate --ping-interval 1 "$@" >"$log" 2>&1 &
  server=$!
  local url=""
  for _ in $(seq 1 100); do
    url=$(grep -o -E 'serving on https?://[^ ]*' "$log" | head -n 1 | sed 's/^serving on //; s#/$##') || true
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { echo "browser: the server exited:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "browser: the server did not start (see $log)" >&2; exit 1; }
  echo "browser: $label ($url)"
  # NODE_PATH does not apply to ES module imports, so the test resolves playwright-core itself
  # from BROWSER_CACHE.
  local status=0
  WSPROTO_URL=$url BROWSER_CACHE=$cache SCREENSHOT=$out/chat-$label.png node scripts/browser/test.mjs || status=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
  if [ "$status" -ne 0 ]; then
    echo "browser: FAILED over $label (server log: $log)" >&2
    exit "$status"
  fi
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
echo "browser: passed over HTTP/1.1 and over HTTP/2"
