#!/usr/bin/env bash
# The bindings suite: every header function is declared by the Delphi and C# bindings,
# then each binding is compiled and run by its real host against the real library:
# Free Pascal (Delphi mode), mono, g++ on Linux; mingw g++ under Wine against the Windows
# DLL in $ANAF_DIST (default dist/; skipped loudly when not built).
#
#   tests/run/bindings.sh              # builds target/debug/libanaf_bridge.so first
#   ANAF_SKIP_BUILD=1 tests/run/bindings.sh
#
# Needs: fp-compiler fp-units-rtl fp-units-base mono-mcs mono-runtime g++ python3;
# for the Wine part: g++-mingw-w64-x86-64 wine64 fpc-source-3.2.2 (and scripts/dist.sh run
# before, or ANAF_DIST pointing at a folder with win-x64/ and win-x86/).
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DIST=${ANAF_DIST:-$ROOT/dist}
LIBDIR=$TARGET_DIR/debug
WORK=$(mktemp -d /tmp/anaf-bindings.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0
ok() { echo "PASS  $1"; pass=$((pass + 1)); }
bad() { echo "FAIL  $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/      /'; fail=$((fail + 1)); }
skip() { echo "SKIP  $1  <<<<<<<<<< NOT TESTED: $2"; }

# The names of the functions a header declares.
header_functions() {
    sed -n '/extern "C" {/,$p' "$1" | grep -v '^\s*//' | tr '\n' ' ' | tr ';' '\n' |
        grep -oE '\banaf_[a-z0-9_]+\s*\(' | sed -E 's/\s*\($//' | sort -u
}

# Lists the header functions a binding does not declare (none: prints nothing).
missing_in() { # header, file, pattern-with-NAME
    local n
    for n in $(header_functions "$1"); do
        grep -qF "${3//NAME/$n}" "$2" || echo "$n"
    done
}

check_sync() { # header
    local m
    m=$(missing_in "$1" bindings/delphi/AnafBridge.pas "external AnafLib name 'NAME'")
    [ -z "$m" ] || echo "Delphi binding lacks: $m"
    m=$(missing_in "$1" bindings/dotnet/AnafBridge.cs "EntryPoint = \"NAME\"")
    [ -z "$m" ] || echo "C# binding lacks: $m"
}

# ---------------------------------------------------------------- 1. header sync
n=$(header_functions include/anaf_bridge.h | wc -l)
if [ "$n" -lt 10 ]; then bad "header parse" "only $n functions found in include/anaf_bridge.h"; else ok "header declares $n functions"; fi
out=$(check_sync include/anaf_bridge.h)
if [ -z "$out" ]; then ok "Delphi and C# bindings declare every header function"; else bad "bindings out of sync with the header (run: python3 bindings/gen_imports.py)" "$out"; fi
# The check itself must catch a new function (a header with one more declaration).
sed 's/^int32_t anaf_close(/int32_t anaf_sync_probe(struct AnafClient *client);\nint32_t anaf_close(/' include/anaf_bridge.h >"$WORK/probe.h"
out=$(check_sync "$WORK/probe.h")
if printf '%s' "$out" | grep -q "Delphi binding lacks: anaf_sync_probe" && printf '%s' "$out" | grep -q "C# binding lacks: anaf_sync_probe"; then
    ok "sync check catches a function missing from the bindings"
else
    bad "sync check did not catch anaf_sync_probe" "$out"
fi
if out=$(python3 bindings/gen_imports.py --check 2>&1); then ok "generated import blocks match the header's signatures"; else bad "stale import blocks" "$out"; fi
for n in $(header_functions include/anaf_bridge.h); do
    case $n in anaf_last_error | anaf_free | anaf_version | anaf_status_name | anaf_open | anaf_close) continue ;; esac
    grep -qE "\b$n\(" bindings/cpp/anaf_bridge.hpp || echo "$n"
done >"$WORK/cpp_missing"
if [ -s "$WORK/cpp_missing" ]; then
    echo "NOTE  C++ wrapper has no method for: $(tr '\n' ' ' <"$WORK/cpp_missing")(callable directly through anaf_bridge.h)"
fi

# ---------------------------------------------------------------- 2. the library
if [ "${ANAF_SKIP_BUILD:-0}" != 1 ]; then
    if cargo build -p anaf-bridge --lib --quiet 2>"$WORK/build.log"; then ok "cargo build -p anaf-bridge --lib"; else bad "cargo build" "$(tail -20 "$WORK/build.log")"; fi
fi
[ -f "$LIBDIR/libanaf_bridge.so" ] || { bad "no $LIBDIR/libanaf_bridge.so"; echo "$pass passed, $fail failed"; exit 1; }

# Counts the "ok - " / "FAIL - " lines of a host program; its exit code must be 0.
run_host() { # label, command...
    local label=$1
    shift
    local log="$WORK/$(echo "$label" | tr -c 'a-zA-Z0-9' _).log"
    "$@" >"$log" 2>&1
    local rc=$?
    local oks fails
    oks=$(grep -c '^ok - ' "$log")
    fails=$(grep -c '^FAIL - ' "$log")
    pass=$((pass + oks))
    fail=$((fail + fails))
    awk -v l="$label" '/^FAIL - /{print "FAIL  " l ": " substr($0, 8)}' "$log"
    if [ "$rc" -ne 0 ] && [ "$fails" -eq 0 ]; then bad "$label exited with $rc" "$(tail -15 "$log")"; fi
    if [ "$oks" -eq 0 ]; then bad "$label ran no check" "$(tail -15 "$log")"; fi
    echo "      $label: $oks checks passed, $fails failed"
}

# ---------------------------------------------------------------- 3. Delphi (Free Pascal)
if command -v fpc >/dev/null; then
    mkdir -p "$WORK/fpc" "$WORK/fpc-data"
    if fpc -Mdelphi -vew -FU"$WORK/fpc" -FE"$WORK/fpc" -Fubindings/delphi -Fl"$LIBDIR" \
        bindings/delphi/tests/BindingTest.dpr >"$WORK/fpc.log" 2>&1; then
        ok "fpc -Mdelphi compiles AnafBridge.pas and BindingTest.dpr"
        LD_LIBRARY_PATH=$LIBDIR run_host "Delphi/FPC" timeout 120 "$WORK/fpc/BindingTest" "$WORK/fpc-data"
    else
        bad "fpc compile" "$(grep -iE 'error|fatal' "$WORK/fpc.log" | head -20)"
    fi
else
    bad "fpc not installed (apt-get install fp-compiler fp-units-rtl fp-units-base)"
fi

# ---------------------------------------------------------------- 4. C# (mono)
if command -v mcs >/dev/null && command -v mono >/dev/null; then
    mkdir -p "$WORK/cs" "$WORK/cs-data"
    if mcs -nologo -langversion:5 -warnaserror+ -out:"$WORK/cs/BindingTest.exe" bindings/dotnet/AnafBridge.cs \
        bindings/dotnet/tests/BindingTest.cs >"$WORK/mcs.log" 2>&1; then
        ok "mcs -langversion:5 (C# 5, .NET Framework 4.x) compiles AnafBridge.cs and BindingTest.cs"
        LD_LIBRARY_PATH=$LIBDIR run_host "C#/mono" timeout 120 mono "$WORK/cs/BindingTest.exe" "$WORK/cs-data"
    else
        bad "mcs compile" "$(head -20 "$WORK/mcs.log")"
    fi
else
    bad "mono not installed (apt-get install mono-mcs mono-runtime)"
fi

# ---------------------------------------------------------------- 5. C++ (g++)
mkdir -p "$WORK/cpp-data"
if g++ -std=c++11 -Wall -Wextra -Werror -Iinclude -Ibindings/cpp bindings/cpp/tests/binding_test.cpp \
    -L"$LIBDIR" -lanaf_bridge -o "$WORK/cpp_test" 2>"$WORK/gpp.log"; then
    ok "g++ -std=c++11 compiles anaf_bridge.hpp"
    LD_LIBRARY_PATH=$LIBDIR run_host "C++/g++" timeout 120 "$WORK/cpp_test" "$WORK/cpp-data"
else
    bad "g++ compile" "$(head -20 "$WORK/gpp.log")"
fi

# ---------------------------------------------------------------- 6. the Windows DLL under Wine
WINE=$(command -v wine64 || command -v wine || true)
export WINEPREFIX=${WINEPREFIX:-$HOME/.wine-anaf-tests} WINEDEBUG=${WINEDEBUG:--all}
run_wine() { # arch-dir, mingw-prefix, label
    local dll="$DIST/$1/anaf_bridge.dll"
    if [ ! -f "$dll" ]; then skip "$3" "$dll not built (run scripts/dist.sh)"; return; fi
    if ! command -v "$2-g++" >/dev/null; then skip "$3" "$2-g++ not installed"; return; fi
    if [ -z "$WINE" ]; then skip "$3" "wine not installed"; return; fi
    local d="$WORK/wine-$1"
    mkdir -p "$d/data"
    cp "$DIST/$1"/*.dll "$d/"
    # Wine 8 lacks ProcessPrng: the test-only bcryptprimitives.dll shim goes beside the host.
    if [ ! -f "$d/bcryptprimitives.dll" ]; then
        if [ -f "$TARGET_DIR/wine-shim/$1/bcryptprimitives.dll" ]; then
            cp "$TARGET_DIR/wine-shim/$1/bcryptprimitives.dll" "$d/"
        else
            "$2-gcc" -O2 -shared -Wl,--kill-at -o "$d/bcryptprimitives.dll" tests/wine/bcryptprimitives.c -ladvapi32
        fi
    fi
    if "$2-g++" -std=c++11 -O1 -Iinclude -Ibindings/cpp bindings/cpp/tests/binding_test.cpp "$d/anaf_bridge.dll" \
        -static -o "$d/binding_test.exe" 2>"$d/build.log"; then
        ok "$2-g++ compiles anaf_bridge.hpp against $1/anaf_bridge.dll"
        run_host "$3" timeout 300 "$WINE" "$d/binding_test.exe" "Z:$d/data"
    else
        bad "$2-g++ compile" "$(head -20 "$d/build.log")"
    fi
}
run_wine win-x64 x86_64-w64-mingw32 "C++/Wine win-x64"
wine32_works() { # a 32-bit program prints through Wine
    printf '#include <stdio.h>\nint main(void){puts("wine32-ok");return 0;}\n' >"$WORK/w32.c"
    command -v i686-w64-mingw32-gcc >/dev/null && i686-w64-mingw32-gcc -o "$WORK/w32.exe" "$WORK/w32.c" 2>/dev/null &&
        "$WINE" "$WORK/w32.exe" 2>/dev/null | grep -q wine32-ok
}
if [ -n "$WINE" ] && wine32_works; then
    run_wine win-x86 i686-w64-mingw32 "C++/Wine win-x86"
else
    skip "C++/Wine win-x86" "32-bit Wine (wine32:i386) not installed"
fi
# Delphi binding on Windows: Debian ships no Free Pascal Windows units, but its
# fpc-source-3.2.2 package holds the RTL, which ppcx64 compiles for win64 in seconds.
FPCSRC=${FPCSRC:-/usr/share/fpcsrc/3.2.2}
run_fpc_win64() {
    local dll="$DIST/win-x64/anaf_bridge.dll"
    if [ ! -f "$dll" ]; then skip "Delphi/FPC win64 under Wine" "$dll not built (run scripts/dist.sh)"; return; fi
    if [ ! -d "$FPCSRC/rtl/win64" ]; then skip "Delphi/FPC win64 under Wine" "fpc-source-3.2.2 not installed"; return; fi
    if [ -z "$WINE" ]; then skip "Delphi/FPC win64 under Wine" "wine not installed"; return; fi
    local rtl="$TARGET_DIR/fpc-win64-rtl" d="$WORK/fpc-win64"
    if [ ! -f "$rtl/units/sysutils.ppu" ]; then
        rm -rf "$rtl" && mkdir -p "$rtl/units" && cp -r "$FPCSRC/rtl" "$rtl/src"
        local o="-Twin64 -Px86_64 -n -O2 -FE$rtl/units -Fu$rtl/units -Fi../inc -Fi../x86_64 -Fi../win -Fi."
        if ! (cd "$rtl/src/win64" && ppcx64 $o -Us -Sg system.pp && ppcx64 $o -Fi../objpas ../objpas/objpas.pp &&
            ppcx64 $o -Fi../objpas/sysutils -Fi../objpas/classes -Fu../x86_64 -I../win -I../objpas -I../win/wininc \
                -Fu../win/wininc -Fu../win -I../inc -Fu../inc -Fu../objpas buildrtl.pp) >"$WORK/fpc-rtl.log" 2>&1; then
            bad "building the Free Pascal win64 RTL from $FPCSRC" "$(grep -iE 'error|fatal' "$WORK/fpc-rtl.log" | head)"
            return
        fi
    fi
    mkdir -p "$d/units" "$d/data"
    if ppcx64 -Twin64 -Mdelphi -vew -Fu"$rtl/units" -Fubindings/delphi -FU"$d/units" -FE"$d" \
        bindings/delphi/tests/BindingTest.dpr >"$d/build.log" 2>&1; then
        ok "ppcx64 -Twin64 compiles AnafBridge.pas (MSWINDOWS branch) and BindingTest.dpr"
        cp "$DIST/win-x64"/*.dll "$d/"
        [ -f "$d/bcryptprimitives.dll" ] || cp "$TARGET_DIR/wine-shim/win-x64/bcryptprimitives.dll" "$d/" 2>/dev/null ||
            x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$d/bcryptprimitives.dll" tests/wine/bcryptprimitives.c -ladvapi32
        run_host "Delphi/FPC win64 under Wine" timeout 300 "$WINE" "$d/BindingTest.exe" "Z:$d/data"
    else
        bad "ppcx64 -Twin64 compile" "$(grep -iE 'error|fatal' "$d/build.log" | head -20)"
    fi
}
run_fpc_win64

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
