#!/usr/bin/env bash
# Unpacks Meetecho's simple-whip-server (Janus' WHIP server, Debian package simple-whip-server) into DIR (default
# /opt/simple-whip-server) with its Node dependencies, for test/agent/janus-whip.test.ts and for trying `peercam camera
# --whip-out` against Janus by hand. `apt-get install simple-whip-server` cannot be used beside NodeSource's nodejs (its
# dependency node-websocket needs libnode108, which conflicts with it), so the package is unpacked, not installed, and
# the modules Debian would have supplied (node-express, node-cors, node-colors, node-async, node-websocket) come from npm.
# Run as root (apt-get download); then: cd DIR && NODE_PATH=DIR/node_modules node src/server.js (with your src/config.js).
set -euo pipefail
dir="${1:-/opt/simple-whip-server}"
if [ -f "$dir/src/server.js" ] && [ -d "$dir/node_modules/express" ]; then exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq simple-whip-server 2>/dev/null && dpkg-deb -x simple-whip-server_*.deb root)
mkdir -p "$dir/src"
cp -r "$tmp/root/usr/share/simple-whip-server/web" "$dir/"
cp "$tmp/root/usr/share/simple-whip-server/src/server.js" "$tmp/root/usr/share/simple-whip-server/src/whip-janus.js" "$dir/src/"
cp "$tmp/root/etc/simple-whip-server/config.js" "$dir/src/config.example.js"
# colors stays at 1.4.0: later 1.4.x releases print garbage on purpose.
npm install --prefix "$dir" --no-save --no-audit --no-fund --silent express@4.22.3 cors@2.8.6 colors@1.4.0 async@3.2.6 websocket@1.0.35
