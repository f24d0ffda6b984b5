#!/usr/bin/env bash
# The demo: a C host (examples/demo/demo.c, built with mingw) loads dist/win-x64/anaf_bridge.dll
# under wine64 and works against anaf-sim (started here, stopped at exit): imports a token
# pair the simulator mints, checks it, uploads the sample invoice, waits for ANAF's verdict
# and downloads the answer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/wine.sh
work="$TARGET_DIR/demo"
rm -rf "$work"; mkdir -p "$work"
cp dist/win-x64/anaf_bridge.dll "$TARGET_DIR/wine-shim/win-x64/bcryptprimitives.dll" "$work/"
cp examples/demo/factura.xml "$work/"
x86_64-w64-mingw32-gcc -O2 -Wall -Idist/include -o "$work/demo.exe" examples/demo/demo.c "$work/anaf_bridge.dll"

cargo build --quiet -p anaf-sim --bin anaf-sim
# The simulator lives as long as this script: it stops when its stdin (our pipe) closes.
exec 3> >(exec "$TARGET_DIR/debug/anaf-sim" --port-file "$work/sim.json" --processing-secs 1 --exit-on-stdin-eof > "$work/sim.log" 2>&1)
for _ in $(seq 100); do [ -s "$work/sim.json" ] && break; sleep 0.1; done
[ -s "$work/sim.json" ] || { echo "anaf-sim did not start"; cat "$work/sim.log"; exit 1; }
field() { jq -r ".$1" "$work/sim.json"; }
control=$(field control_url)
tokens=$(curl -sf --cacert "$(field ca_pem)" -X POST -H 'Content-Type: application/json' \
  -d '{"cif":"14399840","serial":"5A1A0001"}' "$control/tokens")
access=$(echo "$tokens" | jq -r .access_token)
refresh=$(echo "$tokens" | jq -r .refresh_token)

wine_prepare
ca_win=$(cd "$work" && "$(wine64_cmd)" winepath -w "$(field ca_pem)" 2>/dev/null | tr -d '\r')
jq -n --arg idp "$(field idp_url)" --arg api "$(field api_url)" --arg pub "$(field public_url)" \
      --arg ca "$ca_win" --arg id "$(field client_id)" --arg secret "$(field client_secret)" \
      --arg redirect "$(field redirect_uri)" \
  '{database: "demo.db", cif: "14399840", environment: "test", language: "en",
    idp_url: $idp, api_url: $api, public_url: $pub, ca_file: $ca,
    client_id: $id, client_secret: $secret, redirect_uri: $redirect, log_file: "demo.log"}' \
  > "$work/config.json"
wine_run "$work" demo.exe @config.json "$access" "$refresh" factura.xml
echo "demo: OK (log: $work/demo.log)"
