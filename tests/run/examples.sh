#!/usr/bin/env bash
# The examples suite: each example (C, Delphi, C#, C++) is built with its real toolchain
# and run against anaf-sim over HTTPS with the real library: open -> token info -> upload
# the sample invoice -> wait for the status -> download the answer -> sync the inbox ->
# save the first supplier invoice not imported yet -> acknowledge it -> look a partner up by
# its CIF. Checked: exit code 0,
# the answer ZIP on disk holding the invoice XML, the simulator's upload counter moving,
# the supplier invoice's XML on disk and acknowledged in the example's database, the
# partner's name from the registry.
#
#   tests/run/examples.sh                 # builds the library and anaf-sim first
#   ANAF_SKIP_BUILD=1 tests/run/examples.sh
#
# Needs: gcc g++ fp-compiler mono-mcs mono-runtime curl jq python3.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LIBDIR=$TARGET_DIR/debug
WORK=$(mktemp -d /tmp/anaf-examples.XXXXXX)
pass=0
fail=0
ok() { echo "PASS  $1"; pass=$((pass + 1)); }
bad() { echo "FAIL  $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/      /'; fail=$((fail + 1)); }
cleanup() { exec 3>&- 2>/dev/null; [ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
INVOICE=${ANAF_SAMPLE_INVOICE:-$ROOT/examples/demo/factura.xml}

if [ "${ANAF_SKIP_BUILD:-0}" != 1 ]; then
    cargo build -p anaf-bridge --lib --quiet && cargo build -p anaf-sim --bin anaf-sim --quiet ||
        { bad "cargo build"; echo "$pass passed, $fail failed"; exit 1; }
fi
[ -f "$INVOICE" ] || { bad "sample invoice $INVOICE missing"; echo "$pass passed, $fail failed"; exit 1; }

# The simulator lives as long as this script: it exits when fd 3 (its stdin) closes.
mkfifo "$WORK/sim.in"
"$TARGET_DIR/debug/anaf-sim" --port-file "$WORK/sim.json" --processing-secs 1 --exit-on-stdin-eof \
    <"$WORK/sim.in" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
exec 3>"$WORK/sim.in"
for _ in $(seq 200); do [ -s "$WORK/sim.json" ] && break; sleep 0.1; done
[ -s "$WORK/sim.json" ] || { bad "anaf-sim did not start" "$(cat "$WORK/sim.log")"; echo "$pass passed, $fail failed"; exit 1; }
sim() { jq -r ".$1" "$WORK/sim.json"; }
CA=$(sim ca_pem)
CONTROL=$(sim control_url)
# Supplier invoices for every example's inbox.
curl -sf --cacert "$CA" -X POST -H 'Content-Type: application/json' \
    -d '{"cif": "14399840", "count": 12, "days": 3}' "$CONTROL/efactura/inbox" >/dev/null ||
    { bad "seeding the simulator's inbox"; echo "$pass passed, $fail failed"; exit 1; }
# e-Factura uploads the simulator accepted for our CIF.
uploads() { curl -sf --cacert "$CA" "$CONTROL/counters" | jq '.uploads["14399840"] // 0'; }

# Writes a configuration for one example (its own database and log) and mints a token pair.
prepare() { # name
    local d="$WORK/$1"
    mkdir -p "$d/out"
    jq -n --arg db "$d/anaf.db" --arg log "$d/anaf.log" --arg idp "$(sim idp_url)" --arg api "$(sim api_url)" \
        --arg pub "$(sim public_url)" --arg ca "$CA" --arg id "$(sim client_id)" --arg sec "$(sim client_secret)" \
        --arg redir "$(sim redirect_uri)" \
        '{database: $db, log_file: $log, cif: "14399840", environment: "test", language: "ro",
          idp_url: $idp, api_url: $api, public_url: $pub, ca_file: $ca, client_id: $id,
          client_secret: $sec, redirect_uri: $redir, cert_serial: "5A1A0001", timeout_seconds: 20}' >"$d/config.json"
    curl -sf --cacert "$CA" -X POST -H 'Content-Type: application/json' \
        -d '{"cif": "14399840", "serial": "5A1A0001"}' "$CONTROL/tokens" >"$d/tokens.json"
}

# Runs a built example and checks what it did.
check_run() { # name, command...
    local name=$1
    shift
    local d="$WORK/$name" before after zip
    before=$(uploads)
    LD_LIBRARY_PATH=$LIBDIR timeout 180 "$@" "$d/config.json" "$INVOICE" "$d/out" \
        "$(jq -r .access_token "$d/tokens.json")" "$(jq -r .refresh_token "$d/tokens.json")" >"$d/run.log" 2>&1
    local rc=$?
    after=$(uploads)
    if [ "$rc" -ne 0 ]; then bad "$name example exited $rc" "$(tail -15 "$d/run.log")"; return; fi
    ok "$name example runs the whole day (exit 0)"
    grep -q '"days_left"' "$d/run.log" && ok "$name: token info shown" || bad "$name: no token info" "$(head -5 "$d/run.log")"
    zip=$(sed -n 's/^DONE //p' "$d/run.log" | tail -1)
    if [ -n "$zip" ] && python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; assert any(n.endswith(".xml") and not n.startswith("semnatura") for n in z.namelist())' "$zip" 2>"$d/zip.err"; then
        ok "$name: answer ZIP downloaded with the invoice XML"
    else
        bad "$name: no valid answer ZIP ($zip)" "$(cat "$d/zip.err" 2>/dev/null; tail -5 "$d/run.log")"
    fi
    [ "$after" -gt "$before" ] 2>/dev/null && ok "$name: the simulator received the upload ($before -> $after)" ||
        bad "$name: simulator upload counter did not move ($before -> $after)"
    check_inbox "$name" "$(sed -n 's/^INBOX //p' "$d/run.log" | tail -1)"
    grep -q '^batch: .*"counts":{"already_uploaded":1}' "$d/run.log" && ok "$name: a batch with the invoice already sent sends nothing" ||
        bad "$name: the batch" "$(grep -E '^batch|batch' "$d/run.log" | tail -3)"
    grep -q '^states: .*"counts":{"ok":1}' "$d/run.log" && ok "$name: the states of a batch asked together" ||
        bad "$name: the states of a batch" "$(grep -E '^states|status_batch' "$d/run.log" | tail -3)"
    grep -q '^partner: .*"name":"FIRMA 14399840 SRL"' "$d/run.log" && ok "$name: a partner looked up by CIF" ||
        bad "$name: no partner from the company lookup" "$(grep -E '^partner|lookup' "$d/run.log" | tail -3)"
}

# The supplier invoice an example saved from its inbox, and its acknowledgement.
check_inbox() { # name, xml path as the example printed it
    local name=$1 xml=${2#Z:} db="$WORK/$1/anaf.db" acked
    if [ -n "$xml" ] && grep -qE '<(Invoice|CreditNote|rsm:CrossIndustryInvoice)[ >]' "$xml" 2>/dev/null; then
        ok "$name: inbox synced, a supplier invoice's XML saved"
    else
        bad "$name: no supplier invoice XML from the inbox ($xml)" "$(grep -E '^inbox:|INBOX|Error|ERR' "$WORK/$name/run.log" | tail -5)"
    fi
    acked=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM anaf_inbox WHERE erp_ref = ?", ("NIR 1",)).fetchone()[0])' "$db" 2>&1)
    [ "$acked" = 1 ] && ok "$name: the supplier invoice is acknowledged in anaf_inbox" ||
        bad "$name: anaf_inbox acknowledgements: $acked"
}

# ---------------------------------------------------------------- C
prepare c
if gcc -std=c99 -Wall -Wextra -Werror -Iinclude -o "$WORK/c/erp_day" examples/c/erp_day.c -L"$LIBDIR" -lanaf_bridge 2>"$WORK/c/build.log"; then
    ok "C example compiles (gcc -std=c99 -Werror)"
    check_run c "$WORK/c/erp_day"
else
    bad "C example compile" "$(head -20 "$WORK/c/build.log")"
fi

# ---------------------------------------------------------------- C++
prepare cpp
if g++ -std=c++11 -Wall -Wextra -Werror -Iinclude -Ibindings/cpp -o "$WORK/cpp/erp_day" examples/cpp/erp_day.cpp -L"$LIBDIR" -lanaf_bridge 2>"$WORK/cpp/build.log"; then
    ok "C++ example compiles (g++ -std=c++11 -Werror)"
    check_run cpp "$WORK/cpp/erp_day"
else
    bad "C++ example compile" "$(head -20 "$WORK/cpp/build.log")"
fi

# ---------------------------------------------------------------- Delphi (Free Pascal)
prepare delphi
if command -v fpc >/dev/null; then
    mkdir -p "$WORK/delphi/units"
    if fpc -Mdelphi -vew -FU"$WORK/delphi/units" -FE"$WORK/delphi" -Fubindings/delphi -Fl"$LIBDIR" examples/delphi/ErpDay.dpr >"$WORK/delphi/build.log" 2>&1; then
        ok "Delphi example compiles (fpc -Mdelphi)"
        check_run delphi "$WORK/delphi/ErpDay"
    else
        bad "Delphi example compile" "$(grep -iE 'error|fatal' "$WORK/delphi/build.log" | head -20)"
    fi
else
    bad "fpc not installed"
fi

# ---------------------------------------------------------------- C# (mono)
prepare csharp
if command -v mcs >/dev/null; then
    if mcs -nologo -warnaserror+ -out:"$WORK/csharp/ErpDay.exe" bindings/dotnet/AnafBridge.cs examples/csharp/ErpDay.cs >"$WORK/csharp/build.log" 2>&1; then
        ok "C# example compiles (mcs)"
        check_run csharp mono "$WORK/csharp/ErpDay.exe"
    else
        bad "C# example compile" "$(head -20 "$WORK/csharp/build.log")"
    fi
else
    bad "mono not installed"
fi

# ---------------------------------------------------------------- C++ example, Windows DLL, Wine
DIST=${ANAF_DIST:-$ROOT/dist}
WINE=$(command -v wine || command -v wine64 || true)
if [ -f "$DIST/win-x64/anaf_bridge.dll" ] && [ -n "$WINE" ] && command -v x86_64-w64-mingw32-g++ >/dev/null; then
    export WINEPREFIX=${WINEPREFIX:-$HOME/.wine-anaf-tests} WINEDEBUG=${WINEDEBUG:--all}
    prepare wine
    d=$WORK/wine
    cp "$DIST/win-x64"/*.dll "$d/"
    [ -f "$d/bcryptprimitives.dll" ] || cp "$TARGET_DIR/wine-shim/win-x64/bcryptprimitives.dll" "$d/" 2>/dev/null ||
        x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$d/bcryptprimitives.dll" tests/wine/bcryptprimitives.c -ladvapi32
    # The same configuration with the paths as Windows sees them (Z: is the Unix root).
    jq '.database = "Z:" + .database | .log_file = "Z:" + .log_file | .ca_file = "Z:" + .ca_file' "$d/config.json" >"$d/config.win.json"
    if x86_64-w64-mingw32-g++ -std=c++11 -O1 -static -Iinclude -Ibindings/cpp -o "$d/erp_day.exe" examples/cpp/erp_day.cpp "$d/anaf_bridge.dll" 2>"$d/build.log"; then
        ok "C++ example compiles with mingw against win-x64/anaf_bridge.dll"
        before=$(uploads)
        (cd "$d" && timeout 300 "$WINE" erp_day.exe "Z:$d/config.win.json" "Z:$INVOICE" "Z:$d/out" \
            "$(jq -r .access_token tokens.json)" "$(jq -r .refresh_token tokens.json)") >"$d/run.log" 2>&1
        rc=$?
        after=$(uploads)
        zip=$(ls "$d/out"/raspuns_*.zip 2>/dev/null | head -1)
        if [ "$rc" -eq 0 ] && [ -n "$zip" ] && [ "$after" -gt "$before" ] &&
            python3 -c 'import sys, zipfile; assert zipfile.ZipFile(sys.argv[1]).testzip() is None' "$zip"; then
            ok "C++ example under Wine: the Windows DLL uploads to the simulator and downloads the answer"
            check_inbox wine "$(sed -n 's/^INBOX //p' "$d/run.log" | tr -d '\r' | tail -1)"
            grep -q '^partner: .*"name":"FIRMA 14399840 SRL"' "$d/run.log" && ok "wine: a partner looked up by CIF" ||
                bad "wine: no partner from the company lookup" "$(grep -E '^partner|lookup' "$d/run.log" | tail -3)"
        else
            bad "C++ example under Wine (exit $rc, uploads $before -> $after)" "$(tail -8 "$d/run.log")"
        fi
    else
        bad "mingw build of the C++ example" "$(head -10 "$d/build.log")"
    fi
else
    echo "SKIP  C++ example under Wine  <<<<<<<<<< NOT TESTED: $DIST/win-x64/anaf_bridge.dll, wine or mingw g++ missing (run scripts/dist.sh)"
fi

# ---------------------------------------------------------------- README.md snippets
# Each language section of README.md holds a whole program of about 10 lines; it is
# compiled and run here so the documentation never drifts from the API.
SECTION='## Using it from Delphi, C#, C++ and C'
snippet() {
    awk -v s="$SECTION" -v f="\`\`\`$1" '$0 == s {in_s = 1; next} in_s && /^## / {exit}
        in_s && $0 == f {on = 1; next} on && /^```/ {exit} on {print}' README.md
}
mkdir -p "$WORK/docs/units"
CONFIG_JSON=$(jq -c . "$WORK/c/config.json") # the C example left a token in this database
docs_case() { # lang, file, build command (run from $WORK/docs), run command
    local lang=$1 file=$2 build=$3 run=$4 lines
    snippet "$lang" >"$WORK/docs/$file"
    lines=$(wc -l <"$WORK/docs/$file")
    if [ "$lines" -lt 5 ] || [ "$lines" -gt 12 ]; then bad "README.md $lang example has $lines lines (want about 10)"; return; fi
    if ! (cd "$WORK/docs" && eval "$build") >"$WORK/docs/$lang.build" 2>&1; then
        bad "README.md $lang example does not compile" "$(grep -iE 'error|fatal' "$WORK/docs/$lang.build" | head -10)"
        return
    fi
    if (cd "$WORK/docs" && LD_LIBRARY_PATH=$LIBDIR timeout 120 $run "$CONFIG_JSON" "$INVOICE") >"$WORK/docs/$lang.out" 2>&1 &&
        grep -q '"index_incarcare"' "$WORK/docs/$lang.out"; then
        ok "README.md $lang example ($lines lines) compiles and uploads to the simulator"
    else
        bad "README.md $lang example run" "$(tail -5 "$WORK/docs/$lang.out")"
    fi
}
docs_case c erp.c "gcc -std=c99 -Wall -I$ROOT/include erp.c -L$LIBDIR -lanaf_bridge -o erp_c" ./erp_c
docs_case cpp erp.cpp "g++ -std=c++11 -Wall -I$ROOT/include -I$ROOT/bindings/cpp erp.cpp -L$LIBDIR -lanaf_bridge -o erp_cpp" ./erp_cpp
docs_case pascal erp.dpr "fpc -Mdelphi -FUunits -Fu$ROOT/bindings/delphi -Fl$LIBDIR erp.dpr" ./erp
docs_case csharp erp.cs "mcs -nologo -out:erp.exe $ROOT/bindings/dotnet/AnafBridge.cs erp.cs" "mono erp.exe"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
