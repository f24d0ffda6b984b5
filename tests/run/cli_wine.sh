#!/usr/bin/env bash
# anaf.exe (dist/win-x64, built by scripts/dist.sh) under wine64 against anaf-sim:
# the configuration found as anaf.json beside the executable, no token (exit 3), a token
# pair minted by the simulator imported, `token info` and `diagnose` as text and as JSON,
# `lookup` twice in a row
# (parsed with jq), and the exit codes of a bad configuration and of ANAF unreachable.
#
#   tests/run/cli_wine.sh                 # builds anaf-sim first
#   ANAF_SKIP_BUILD=1 tests/run/cli_wine.sh
#
# Without dist/win-x64/anaf.exe it says SKIP loudly, and fails under CI=true.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
source scripts/lib/wine.sh
DIST=${ANAF_DIST:-$ROOT/dist}
WORK=$(mktemp -d /tmp/anaf-cli-wine.XXXXXX)
pass=0
fail=0
ok() { echo "PASS  $1"; pass=$((pass + 1)); }
bad() { echo "FAIL  $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/      /'; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
cleanup() { exec 3>&- 2>/dev/null; [ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

if [ ! -f "$DIST/win-x64/anaf.exe" ]; then
    if [ "${CI:-}" = true ]; then
        bad "$DIST/win-x64/anaf.exe is missing under CI (scripts/dist.sh builds it)"
        finish
    fi
    echo "SKIP  whole suite  <<<<<<<<<< NOT TESTED: $DIST/win-x64/anaf.exe is not built (run scripts/dist.sh)"
    finish
fi
WINE=$(wine64_cmd)
[ -n "$WINE" ] || { bad "wine64 is not installed"; finish; }

if [ "${ANAF_SKIP_BUILD:-0}" != 1 ]; then
    cargo build -p anaf-sim --bin anaf-sim --quiet || { bad "cargo build -p anaf-sim"; finish; }
fi

# The simulator lives as long as this script: it exits when fd 3 (its stdin) closes.
mkfifo "$WORK/sim.in"
"$TARGET_DIR/debug/anaf-sim" --port-file "$WORK/sim.json" --processing-secs 1 --exit-on-stdin-eof \
    <"$WORK/sim.in" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
exec 3>"$WORK/sim.in"
for _ in $(seq 200); do [ -s "$WORK/sim.json" ] && break; sleep 0.1; done
[ -s "$WORK/sim.json" ] || { bad "anaf-sim did not start" "$(cat "$WORK/sim.log")"; finish; }
sim() { jq -r ".$1" "$WORK/sim.json"; }
CA=$(sim ca_pem)

# anaf.exe, the test-only stand-in for bcryptprimitives.dll Wine 8 lacks, and anaf.json
# beside them: found without --config. The database path is relative, so it is taken from
# the configuration's folder; the CA is given as Windows sees it (Z: is the Unix root).
BIN=$WORK/bin
mkdir -p "$BIN"
cp "$DIST/win-x64/anaf.exe" "$BIN/"
cp "$TARGET_DIR/wine-shim/win-x64/bcryptprimitives.dll" "$BIN/" 2>/dev/null ||
    x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$BIN/bcryptprimitives.dll" tests/wine/bcryptprimitives.c -ladvapi32 ||
    { bad "the bcryptprimitives shim"; finish; }
config() { # extra jq filter
    jq -n --arg idp "$(sim idp_url)" --arg api "$(sim api_url)" --arg pub "$(sim public_url)" \
        --arg ca "Z:$CA" --arg id "$(sim client_id)" --arg sec "$(sim client_secret)" --arg redir "$(sim redirect_uri)" \
        '{database: "anaf.db", cif: "14399840", environment: "test", language: "en",
          idp_url: $idp, api_url: $api, public_url: $pub, ca_file: $ca, client_id: $id,
          client_secret: $sec, redirect_uri: $redir, cert_serial: "5A1A0001", timeout_seconds: 20}' | jq "${1:-.}"
}
config >"$BIN/anaf.json"
wine_prepare
# anaf ARGS...: anaf.exe under wine64 from another folder; stdout in $WORK/out, stderr in
# $WORK/err (carriage returns removed), the exit code in $rc.
anaf() {
    (cd "$WORK" && timeout 120 "$WINE" "$BIN/anaf.exe" "$@") >"$WORK/out.raw" 2>"$WORK/err.raw"
    rc=$?
    tr -d '\r' <"$WORK/out.raw" >"$WORK/out"
    tr -d '\r' <"$WORK/err.raw" | grep -v '^[0-9a-f]*:fixme:' >"$WORK/err"
}
shown() { cat "$WORK/out" "$WORK/err" | head -20; }

anaf token info
[ "$rc" = 3 ] && grep -q ANAF_ERR_NO_TOKEN "$WORK/err" &&
    ok "no token yet: exit 3, ANAF_ERR_NO_TOKEN (anaf.json found beside anaf.exe)" ||
    bad "token info without a token (exit $rc)" "$(shown)"

curl -sf --cacert "$CA" -X POST -H 'Content-Type: application/json' \
    -d '{"cif": "14399840", "serial": "5A1A0001"}' "$(sim control_url)/tokens" >"$WORK/tokens.json" ||
    { bad "minting a token pair at the simulator"; finish; }
anaf token import "$(jq -r .access_token "$WORK/tokens.json")" "$(jq -r .refresh_token "$WORK/tokens.json")"
[ "$rc" = 0 ] && ok "token import: exit 0" || bad "token import (exit $rc)" "$(shown)"
[ -f "$BIN/anaf.db" ] && ok "the relative database path is taken from anaf.json's folder" ||
    bad "no $BIN/anaf.db" "$(ls "$BIN" "$WORK")"

anaf --json token info
if [ "$rc" = 0 ] && [ "$(jq -r .serial "$WORK/out")" = 5A1A0001 ] && [ "$(jq -r '.days_left > 80' "$WORK/out")" = true ]; then
    ok "token info --json: serial 5A1A0001, $(jq -r .days_left "$WORK/out") days left"
else
    bad "token info --json (exit $rc)" "$(shown)"
fi
anaf token info
[ "$rc" = 0 ] && grep -q '^Certificate serial *5A1A0001' "$WORK/out" && ! grep -q eyJ "$WORK/out" &&
    ok "token info as text, without the tokens" || bad "token info as text (exit $rc)" "$(shown)"

anaf --json diagnose
if jq -e '.checks | length > 8' "$WORK/out" >/dev/null 2>&1; then
    want=$(jq -r 'if .ok then 0 else 8 end' "$WORK/out")
    [ "$rc" = "$want" ] && ok "diagnose --json: $(jq -r .summary "$WORK/out") (exit $rc)" ||
        bad "diagnose --json exit $rc, expected $want" "$(shown)"
    for id in token network_api database; do
        st=$(jq -r --arg id "$id" '.checks[] | select(.id == $id) | .status' "$WORK/out")
        [ "$st" = ok ] && ok "diagnose: $id ok" || bad "diagnose: $id is \"$st\"" "$(jq -c --arg id "$id" '.checks[] | select(.id == $id)' "$WORK/out")"
    done
    jq -r '.checks[] | select(.id == "dll_bitness") | .message' "$WORK/out" | grep -q 'anaf.exe.*built in' &&
        ok "diagnose: the bitness check knows anaf.exe has the library built in" ||
        bad "diagnose: dll_bitness" "$(jq -c '.checks[] | select(.id == "dll_bitness")' "$WORK/out")"
else
    bad "diagnose --json is not a report (exit $rc)" "$(shown)"
fi
anaf diagnose
grep -qE '^ok +ANAF token:' "$WORK/out" && grep -q 'anaf.json' "$WORK/out" &&
    ok "diagnose as a table (ok / problem / what to do)" || bad "diagnose as text (exit $rc)" "$(shown)"

# A partner from ANAF's registry of VAT payers (no token needed), twice in a row: the
# second program keeps the one-a-second pace the first left in the database.
anaf --json lookup "RO 14399840"
[ "$rc" = 0 ] && [ "$(jq -r '.found[0].name' "$WORK/out")" = "FIRMA 14399840 SRL" ] &&
    ok "lookup --json: $(jq -r '.found[0].name' "$WORK/out")" || bad "lookup (exit $rc)" "$(shown)"
anaf --lang en lookup 14399840
[ "$rc" = 0 ] && grep -q 'VAT payer' "$WORK/out" &&
    ok "lookup as text, right after the first" || bad "lookup as text (exit $rc)" "$(shown)"

# A configuration that does not parse, and ANAF unreachable (a port nothing listens on).
echo '{"cif": "RO14399840", "database": "x.db"}' >"$WORK/bad.json"
anaf --config "Z:$WORK/bad.json" --json token info
[ "$rc" = 2 ] && [ "$(jq -r .error.status "$WORK/out")" = ANAF_ERR_INVALID_CONFIG ] &&
    ok "a bad configuration: exit 2, ANAF_ERR_INVALID_CONFIG" || bad "bad configuration (exit $rc)" "$(shown)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
config ".api_url = \"https://127.0.0.1:$port\" | .database = \"Z:$BIN/anaf.db\" | .timeout_seconds = 5" >"$WORK/down.json"
anaf --config "Z:$WORK/down.json" --json token test
[ "$rc" = 4 ] && ok "ANAF unreachable: exit 4 ($(jq -r .error.status "$WORK/out"))" || bad "network down (exit $rc)" "$(shown)"

finish
