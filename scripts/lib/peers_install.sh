# Shared by scripts/peers.sh and scripts/idle_memory.sh: installs the latest Python `websockets`
# and Node `ws` into $cache (an update where they are already there) and sets $python and
# PEERS_NODE_PREFIX. Source it after setting `cache`.
mkdir -p "$cache"
if [ ! -x "$cache/venv/bin/python" ]; then
  rm -rf "$cache/venv"
  python3 -m venv "$cache/venv"
fi
"$cache/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade websockets
[ -f "$cache/node/package.json" ] || { mkdir -p "$cache/node" && echo '{"private": true}' >"$cache/node/package.json"; }
npm install --prefix "$cache/node" --no-audit --no-fund --loglevel=error ws@latest >/dev/null
python=$cache/venv/bin/python
export PEERS_NODE_PREFIX=$cache/node
