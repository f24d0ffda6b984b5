#!/usr/bin/env bash
# The installer suite: builds anaf-bridge-setup.exe with installer/build.sh (makensis) and
# checks it under Wine: the win-x64 DLL lands in System32 and the win-x86 DLL in SysWOW64,
# the WebView2 check reports missing / found from EdgeUpdate's registry key, an ERP-like
# host finds the installed DLL by name and its diagnose flags a wrong-bitness copy, and the
# uninstaller removes the files and the registry entry.
#
#   ANAF_DIST=dist tests/run/installer.sh      # needs dist/win-x86 and dist/win-x64 DLLs
#
# The shipped installer is 32-bit (it must run on 32-bit Windows). Running it needs 32-bit
# Wine (wine32:i386); without it this suite runs a 64-bit build of the same script
# (installer/build.sh OUT amd64) and says so.
# Needs: nsis, wine64, gcc-mingw-w64-x86-64, cmp.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
DIST=$(cd "${ANAF_DIST:-dist}" 2>/dev/null && pwd || echo "${ANAF_DIST:-dist}")
WORK=$(mktemp -d /tmp/anaf-installer.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0
ok() { echo "PASS  $1"; pass=$((pass + 1)); }
bad() { echo "FAIL  $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/      /'; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

# PE machine of a file: 14c (x86) or 8664 (x64).
machine() { python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(4096); o=struct.unpack_from("<I",d,0x3c)[0]; print("%x" % struct.unpack_from("<H",d,o+4)[0])' "$1" 2>/dev/null; }

for f in win-x86/anaf_bridge.dll win-x64/anaf_bridge.dll; do
    if [ ! -f "$DIST/$f" ]; then
        echo "SKIP  whole suite  <<<<<<<<<< NOT TESTED: $DIST/$f is not built (run scripts/dist.sh, or set ANAF_DIST)"
        bad "installer inputs present ($DIST/$f)"
        finish
    fi
done
[ "$(machine "$DIST/win-x64/anaf_bridge.dll")" = 8664 ] && ok "dist win-x64 DLL is x64" || bad "dist win-x64 DLL is not x64"
[ "$(machine "$DIST/win-x86/anaf_bridge.dll")" = 14c ] && ok "dist win-x86 DLL is x86" || bad "dist win-x86 DLL is not x86"

# ---------------------------------------------------------------- build
if out=$(ANAF_DIST=$DIST installer/build.sh "$WORK/anaf-bridge-setup.exe" 2>&1); then
    ok "installer/build.sh builds anaf-bridge-setup.exe"
else
    bad "installer/build.sh" "$out"
    finish
fi
[ "$(machine "$WORK/anaf-bridge-setup.exe")" = 14c ] && ok "the shipped installer is 32-bit (runs on 32- and 64-bit Windows)" || bad "the shipped installer is not 32-bit"
grep -aq "Nullsoft" "$WORK/anaf-bridge-setup.exe" && ok "it is an NSIS installer" || bad "no NSIS signature"

WINE=$(command -v wine || command -v wine64 || true)
if [ -z "$WINE" ]; then bad "wine not installed"; finish; fi
export WINEPREFIX=${ANAF_INSTALLER_WINEPREFIX:-$ROOT/target/wine-prefix-installer} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$WINEPREFIX"
"$WINE" wineboot -i >/dev/null 2>&1
wineserver -w
C=$WINEPREFIX/drive_c
SYS64=$C/windows/system32
WOW=$C/windows/syswow64

SETUP=$WORK/anaf-bridge-setup.exe
if ! "$WINE" cmd /c ver >/dev/null 2>&1 || ! dpkg --print-foreign-architectures | grep -q i386; then
    echo "NOTE  32-bit Wine is not installed: running a 64-bit build of the same NSIS script instead of the shipped 32-bit one"
    if out=$(ANAF_DIST=$DIST installer/build.sh "$WORK/anaf-bridge-setup-x64.exe" amd64 2>&1); then
        ok "installer/build.sh builds the 64-bit test variant"
        SETUP=$WORK/anaf-bridge-setup-x64.exe
    else
        bad "64-bit variant" "$out"
        finish
    fi
fi
mkdir -p "$WOW"

# Earlier runs leave nothing behind that could make this one pass.
rm -f "$SYS64/anaf_bridge.dll" "$WOW/anaf_bridge.dll"
"$WINE" reg delete 'HKLM\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' /f >/dev/null 2>&1
"$WINE" reg delete 'HKLM\SOFTWARE\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' /f >/dev/null 2>&1
wineserver -w

# ---------------------------------------------------------------- install
"$WINE" "$SETUP" /S >"$WORK/install.log" 2>&1
rc=$?
wineserver -w
[ "$rc" -eq 0 ] && ok "silent install exits 0" || bad "silent install exited $rc" "$(tail "$WORK/install.log")"
if cmp -s "$SYS64/anaf_bridge.dll" "$DIST/win-x64/anaf_bridge.dll"; then ok "win-x64 DLL installed into System32"; else bad "System32/anaf_bridge.dll is not the win-x64 DLL" "$(ls -l "$SYS64/anaf_bridge.dll" 2>&1)"; fi
if cmp -s "$WOW/anaf_bridge.dll" "$DIST/win-x86/anaf_bridge.dll"; then ok "win-x86 DLL installed into SysWOW64"; else bad "SysWOW64/anaf_bridge.dll is not the win-x86 DLL" "$(ls -l "$WOW/anaf_bridge.dll" 2>&1)"; fi
INSTDIR=$(dirname "$(find "$C" -path '*anaf-bridge/install-report.txt' 2>/dev/null | head -1)" 2>/dev/null)
if [ -n "$INSTDIR" ] && [ -f "$INSTDIR/uninstall.exe" ] && [ -f "$INSTDIR/include/anaf_bridge.h" ] && [ -f "$INSTDIR/bindings/AnafBridge.pas" ]; then
    ok "Program Files holds the header, the bindings and the uninstaller"
else
    bad "install folder incomplete" "$(find "$C" -path '*anaf-bridge*' 2>/dev/null | head)"
fi
report=$(tr -d '\r' <"$INSTDIR/install-report.txt" 2>/dev/null)
grep -qx "webview2: missing" <<<"$report" && ok "WebView2 runtime reported missing on a bare Windows" || bad "WebView2 missing not reported" "$report"
"$WINE" reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\anaf-bridge' /v DisplayVersion 2>/dev/null | grep -q DisplayVersion &&
    ok "registered in Programs and Features" || bad "no Uninstall registry entry"

# WebView2 present (EdgeUpdate's per-machine key): the installer reports its version.
"$WINE" reg add 'HKLM\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' /v pv /t REG_SZ /d 120.0.2210.144 /f >/dev/null 2>&1
wineserver -w
"$WINE" "$SETUP" /S >/dev/null 2>&1
wineserver -w
report=$(tr -d '\r' <"$INSTDIR/install-report.txt" 2>/dev/null)
grep -qx "webview2: 120.0.2210.144" <<<"$report" && ok "WebView2 runtime version read from the registry" || bad "WebView2 version not found" "$report"
"$WINE" reg delete 'HKLM\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' /f >/dev/null 2>&1

# ---------------------------------------------------------------- an ERP-like host finds it
shim=""
for s in "$ROOT/target/wine-shim/win-x64/bcryptprimitives.dll" "$DIST/win-x64/bcryptprimitives.dll"; do [ -f "$s" ] && shim=$s && break; done
if [ -z "$shim" ] && [ -f tests/wine/bcryptprimitives.c ]; then
    x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$WORK/bcryptprimitives.dll" tests/wine/bcryptprimitives.c -ladvapi32 && shim=$WORK/bcryptprimitives.dll
fi
mkdir -p "$WORK/erp"
if [ -n "$shim" ] && x86_64-w64-mingw32-gcc -O1 -Iinclude -o "$WORK/erp/erp.exe" installer/tests/diag_host.c 2>"$WORK/cc.log"; then
    cp "$shim" "$WORK/erp/"
    cfg='{"database": "Z:'$WORK'/erp/anaf.db", "cif": "14399840", "cert_serial": "1A2B3C4D", "api_url": "https://127.0.0.1:9", "idp_url": "https://127.0.0.1:9", "public_url": "https://127.0.0.1:9", "timeout_seconds": 1, "connect_timeout_seconds": 1, "language": "en"}'
    (cd "$WORK/erp" && "$WINE" erp.exe "$cfg") >"$WORK/erp1.log" 2>&1
    if grep -qi "LOADED_FROM C:\\\\windows\\\\system32\\\\anaf_bridge.dll" "$WORK/erp1.log"; then ok "a 64-bit program loads the installed DLL from System32 by name"; else bad "installed DLL not found by name" "$(head -5 "$WORK/erp1.log")"; fi
    python3 - "$WORK/erp1.log" >"$WORK/bits1" <<'PY'
import json, sys
rep = json.loads(next(l for l in open(sys.argv[1], encoding="utf-8", errors="replace") if l.startswith("REPORT "))[7:])
c = next(c for c in rep["checks"] if c["id"] == "dll_bitness")
w = next(c for c in rep["checks"] if c["id"] == "webview2")
print(c["status"], w["status"], c["message"])
PY
    read -r st wst _ <"$WORK/bits1"
    [ "$st" = ok ] && ok "diagnose under Wine: both system folders hold the right bitness" || bad "dll_bitness after install" "$(cat "$WORK/bits1")"
    [ "$wst" = problem ] && ok "diagnose under Wine: WebView2 runtime missing is a problem" || bad "webview2 check under Wine" "$(cat "$WORK/bits1")"
    # The classic mistake: the 64-bit DLL copied into SysWOW64.
    cp "$DIST/win-x64/anaf_bridge.dll" "$WOW/anaf_bridge.dll"
    (cd "$WORK/erp" && "$WINE" erp.exe "$cfg") >"$WORK/erp2.log" 2>&1
    python3 - "$WORK/erp2.log" >"$WORK/bits2" <<'PY'
import json, sys
rep = json.loads(next(l for l in open(sys.argv[1], encoding="utf-8", errors="replace") if l.startswith("REPORT "))[7:])
c = next(c for c in rep["checks"] if c["id"] == "dll_bitness")
print(c["status"], c["message"], "|", c["action"])
PY
    if grep -q "^problem .*syswow64.*64-bit.*32-bit.*win-x86" "$WORK/bits2" 2>/dev/null || grep -qi "^problem .*syswow64" "$WORK/bits2"; then
        ok "diagnose names the 64-bit DLL wrongly copied into SysWOW64"
    else
        bad "wrong-bitness copy not reported" "$(cat "$WORK/bits2") $(head -3 "$WORK/erp2.log")"
    fi
    cp "$DIST/win-x86/anaf_bridge.dll" "$WOW/anaf_bridge.dll"
else
    bad "building the ERP-like host" "$(cat "$WORK/cc.log" 2>/dev/null) shim=$shim"
fi
wineserver -w

# ---------------------------------------------------------------- uninstall
"$WINE" "$INSTDIR/uninstall.exe" /S >/dev/null 2>&1
wineserver -w
sleep 1
wineserver -w
[ ! -e "$SYS64/anaf_bridge.dll" ] && ok "uninstaller removes System32/anaf_bridge.dll" || bad "System32 DLL left behind"
[ ! -e "$WOW/anaf_bridge.dll" ] && ok "uninstaller removes SysWOW64/anaf_bridge.dll" || bad "SysWOW64 DLL left behind"
[ ! -e "$INSTDIR" ] && ok "uninstaller removes the install folder" || bad "install folder left behind" "$(find "$INSTDIR" 2>/dev/null | head)"
if "$WINE" reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\anaf-bridge' >/dev/null 2>&1; then bad "Uninstall registry entry left behind"; else ok "uninstaller removes the registry entry"; fi
finish
