#!/usr/bin/env bash
# The demo: a C host (examples/demo/demo.c, built with mingw) loads dist/win-x64/anaf_bridge.dll
# under wine64, opens a client against anaf-sim and reports each call.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wine.sh
work=target/demo
rm -rf "$work"; mkdir -p "$work"
cp dist/win-x64/anaf_bridge.dll target/wine-shim/win-x64/bcryptprimitives.dll "$work/"
x86_64-w64-mingw32-gcc -O2 -Wall -Idist/include -o "$work/demo.exe" examples/demo/demo.c "$work/anaf_bridge.dll"
wine_prepare
cat > "$work/config.json" <<JSON
{"database": "demo.db", "cif": "14399840", "environment": "test",
 "client_id": "demo", "client_secret": "demo-secret", "redirect_uri": "https://localhost:9443/anaf/callback"}
JSON
wine_run "$work" demo.exe @config.json
