#!/usr/bin/env bash
# Real-browser test: headless Chromium (Debian's package) driven by playwright-core talks to
# `wsproto serve --deflate` — the chat page in two tabs, and the page's own WebSocket on /echo.
# Installs what it needs (chromium via apt-get, playwright-core via npm into a cache dir).
#
# Usage: scripts/browser.sh
# Screenshot: target/browser/chat.png; server log: target/browser/server.log.
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

# Port 0: the server picks a free port and prints it ("wsproto serving on http://ADDR/ ..."),
# so there is no race with another process over a port we picked.
# --ping-interval 1: keepalive pings during the test's idle period, which Chromium must answer.
"$CARGO_TARGET_DIR/fast/wsproto" serve 127.0.0.1:0 --deflate --ping-interval 1 >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'serving on http://[^ ]*' "$out/server.log" | head -n 1 | sed 's/^serving on //; s#/$##') || true
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { echo "browser: the server exited:" >&2; cat "$out/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "browser: the server did not start (see $out/server.log)" >&2; exit 1; }

# NODE_PATH does not apply to ES module imports, so the test resolves playwright-core itself
# from BROWSER_CACHE.
status=0
WSPROTO_URL=$url BROWSER_CACHE=$cache SCREENSHOT=$out/chat.png node scripts/browser/test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "browser: FAILED (server log: $out/server.log)" >&2
fi
exit "$status"
