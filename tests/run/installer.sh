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
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
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
export WINEPREFIX=${ANAF_INSTALLER_WINEPREFIX:-$TARGET_DIR/wine-prefix-installer} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$WINEPREFIX"
"$WINE" wineboot -i >/dev/null 2>&1
wineserver -w
C=$WINEPREFIX/drive_c
SYS64=$C/windows/system32
WOW=$C/windows/syswow64

SETUP=$WORK/anaf-bridge-setup.exe
# EdgeUpdate's key for the WebView2 Runtime. Which reg.exe `wine reg` runs depends on the
# Wine installed (the 32-bit one when wine32 is there), and a 32-bit reg.exe given the
# 64-bit view's path (SOFTWARE\WOW6432Node\...) writes it under WOW6432Node twice: every
# reg call below names its view with /reg:32 or /reg:64 instead.
WV2_KEY='Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}'
wv2_clear() {
    "$WINE" reg delete "HKLM\\SOFTWARE\\$WV2_KEY" /f /reg:32 >/dev/null 2>&1
    "$WINE" reg delete "HKLM\\SOFTWARE\\$WV2_KEY" /f /reg:64 >/dev/null 2>&1
    "$WINE" reg delete "HKCU\\Software\\$WV2_KEY" /f >/dev/null 2>&1
    wineserver -w
}
# 32-bit Wine works when a 32-bit program prints through it.
wine32_works() {
    printf '#include <stdio.h>\nint main(void){puts("wine32-ok");return 0;}\n' >"$WORK/w32.c"
    i686-w64-mingw32-gcc -o "$WORK/w32.exe" "$WORK/w32.c" 2>/dev/null &&
        "$WINE" "$WORK/w32.exe" 2>/dev/null | grep -q wine32-ok
}
if ! wine32_works; then
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
wv2_clear

# ---------------------------------------------------------------- install
"$WINE" "$SETUP" /S >"$WORK/install.log" 2>&1
rc=$?
wineserver -w
[ "$rc" -eq 0 ] && ok "silent install exits 0" || bad "silent install exited $rc" "$(tail "$WORK/install.log")"
if cmp -s "$SYS64/anaf_bridge.dll" "$DIST/win-x64/anaf_bridge.dll"; then ok "win-x64 DLL installed into System32"; else bad "System32/anaf_bridge.dll is not the win-x64 DLL" "$(ls -l "$SYS64/anaf_bridge.dll" 2>&1)"; fi
if cmp -s "$WOW/anaf_bridge.dll" "$DIST/win-x86/anaf_bridge.dll"; then ok "win-x86 DLL installed into SysWOW64"; else bad "SysWOW64/anaf_bridge.dll is not the win-x86 DLL" "$(ls -l "$WOW/anaf_bridge.dll" 2>&1)"; fi
INSTDIR=$(find "$C" -path '*anaf-bridge/install-report.txt' 2>/dev/null | head -1)
if [ -z "$INSTDIR" ]; then bad "the installer installed nothing (no install-report.txt)" "$(tail -5 "$WORK/install.log")"; finish; fi
INSTDIR=$(dirname "$INSTDIR")
if [ -n "$INSTDIR" ] && [ -f "$INSTDIR/uninstall.exe" ] && [ -f "$INSTDIR/include/anaf_bridge.h" ] && [ -f "$INSTDIR/bindings/AnafBridge.pas" ]; then
    ok "Program Files holds the header, the bindings and the uninstaller"
else
    bad "install folder incomplete" "$(find "$C" -path '*anaf-bridge*' 2>/dev/null | head)"
fi
report=$(tr -d '\r' <"$INSTDIR/install-report.txt" 2>/dev/null)
grep -qx "webview2: missing" <<<"$report" && ok "WebView2 runtime reported missing on a bare Windows" || bad "WebView2 missing not reported" "$report"
"$WINE" reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\anaf-bridge' /v DisplayVersion 2>/dev/null | grep -q DisplayVersion &&
    ok "registered in Programs and Features" || bad "no Uninstall registry entry"

# WebView2 present: the installer reports the version from whichever key holds it. The
# per-machine runtime as Microsoft installs it (EdgeUpdate is 32-bit: the 32-bit view, which
# 64-bit Windows keeps under WOW6432Node), the same path in the 64-bit view, and per user.
wv2_case() { # LABEL VERSION ROOT VIEW...
    local label=$1 version=$2 root=$3
    shift 3
    wv2_clear
    "$WINE" reg add "$root\\$WV2_KEY" /v pv /t REG_SZ /d "$version" /f "$@" >/dev/null 2>&1
    wineserver -w
    "$WINE" "$SETUP" /S >/dev/null 2>&1
    wineserver -w
    report=$(tr -d '\r' <"$INSTDIR/install-report.txt" 2>/dev/null)
    grep -qx "webview2: $version" <<<"$report" && ok "WebView2 runtime version read from $label" ||
        bad "WebView2 version not found in $label" "$report"
}
wv2_case "the per-machine key (32-bit view, as EdgeUpdate writes it)" 120.0.2210.144 'HKLM\SOFTWARE' /reg:32
cmp -s "$SYS64/anaf_bridge.dll" "$DIST/win-x64/anaf_bridge.dll" && [ ! -e "$SYS64/anaf_bridge.dll.old" ] && [ ! -e "$WOW/anaf_bridge.dll.old" ] &&
    ok "reinstall over an existing DLL replaces it and leaves no .old copy" || bad "reinstall left $(ls "$SYS64"/anaf_bridge* "$WOW"/anaf_bridge* 2>&1 | tr '\n' ' ')"
wv2_case "the per-machine key in the 64-bit view" 121.0.2277.83 'HKLM\SOFTWARE' /reg:64
wv2_case "the per-user key" 122.0.2365.52 'HKCU\Software'
wv2_clear

# ---------------------------------------------------------------- an ERP-like host finds it
shim=""
for s in "$TARGET_DIR/wine-shim/win-x64/bcryptprimitives.dll" "$DIST/win-x64/bcryptprimitives.dll"; do [ -f "$s" ] && shim=$s && break; done
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

    # The proxy of Windows Internet Options (corporate networks) carries the DLL's calls.
    python3 - "$WORK/proxy.log" "$WORK/proxy.port" <<'PY' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); s.settimeout(60)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
try:
    while True:
        c, _ = s.accept()
        line = c.recv(2048).split(b"\r\n")[0].decode("latin-1")
        open(sys.argv[1], "a").write(line + "\n")
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"); c.close()
except socket.timeout:
    pass
PY
    PROXY_PID=$!
    for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
    IS='HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings'
    "$WINE" reg add "$IS" /v ProxyEnable /t REG_DWORD /d 1 /f >/dev/null 2>&1
    "$WINE" reg add "$IS" /v ProxyServer /t REG_SZ /d "127.0.0.1:$(cat "$WORK/proxy.port")" /f >/dev/null 2>&1
    wineserver -w
    (cd "$WORK/erp" && env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy "$WINE" erp.exe "$cfg") >"$WORK/erp3.log" 2>&1
    # Hosts in ProxyOverride go direct: nothing more reaches the proxy.
    "$WINE" reg add "$IS" /v ProxyOverride /t REG_SZ /d "127.0.0.1;<local>" /f >/dev/null 2>&1
    wineserver -w
    seen_before=$(wc -l <"$WORK/proxy.log" 2>/dev/null || echo 0)
    (cd "$WORK/erp" && env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy "$WINE" erp.exe "$cfg") >"$WORK/erp4.log" 2>&1
    seen_after=$(wc -l <"$WORK/proxy.log" 2>/dev/null || echo 0)
    if grep -q '"bypass":"127.0.0.1"' "$WORK/erp4.log" && [ "$seen_after" -eq "$seen_before" ] && [ "$seen_before" -gt 0 ]; then
        ok "hosts in the Windows ProxyOverride list bypass the proxy"
    else
        bad "ProxyOverride not honoured (proxy saw $seen_before then $seen_after requests)" "$(grep -o '"id":"proxy"[^}]*}[^}]*}' "$WORK/erp4.log" | head -2)"
    fi
    "$WINE" reg delete "$IS" /v ProxyOverride /f >/dev/null 2>&1
    "$WINE" reg add "$IS" /v ProxyEnable /t REG_DWORD /d 0 /f >/dev/null 2>&1
    kill "$PROXY_PID" 2>/dev/null
    python3 - "$WORK/erp3.log" >"$WORK/proxy1" <<'PY'
import json, sys
rep = json.loads(next(l for l in open(sys.argv[1], encoding="utf-8", errors="replace") if l.startswith("REPORT "))[7:])
c = next(c for c in rep["checks"] if c["id"] == "proxy")
print(c["data"].get("source"), c["data"].get("https"))
PY
    if grep -q "^windows http://127.0.0.1:" "$WORK/proxy1" && grep -q "^CONNECT 127.0.0.1:9 " "$WORK/proxy.log" 2>/dev/null; then
        ok "the Windows Internet Options proxy is read and used (CONNECT seen by the proxy)"
    else
        bad "Windows proxy not used" "report: $(cat "$WORK/proxy1" 2>/dev/null); proxy saw: $(cat "$WORK/proxy.log" 2>/dev/null); $(head -3 "$WORK/erp3.log")"
    fi
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
