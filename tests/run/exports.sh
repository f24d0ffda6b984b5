#!/usr/bin/env bash
# Checks both Windows DLLs: every function of include/anaf_bridge.h is exported under its
# plain name (cdecl, no decoration), and the import table names only Windows system DLLs
# (no WebView2Loader.dll, no mingw runtime DLLs), plus the VERSIONINFO resource.
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0; fail=0
ok()  { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
system_dll='^(kernel32|kernelbase|combase|advapi32|ntdll|msvcrt|ucrtbase|ole32|oleaut32|user32|gdi32|ws2_32|userenv|bcrypt|bcryptprimitives|crypt32|ncrypt|secur32|propsys|shell32|shlwapi|comctl32|comdlg32|dwmapi|uxtheme|version|winmm|iphlpapi|dnsapi|imm32|winhttp|wininet|setupapi|rpcrt4|dbghelp|odbc32|api-ms-win-[a-z0-9-]+)\.dll$'
functions=$(grep -oE '\banaf_[a-z0-9_]+\(' include/anaf_bridge.h | tr -d '(' | sort -u)
[ -n "$functions" ] || bad "header lists functions"
for bits in x64 x86; do
  dll="dist/win-$bits/anaf_bridge.dll"
  arch=x86_64; [ $bits = x86 ] && arch=i686
  if [ ! -f "$dll" ]; then bad "$dll exists (run scripts/dist.sh)"; continue; fi
  dump=$("$arch-w64-mingw32-objdump" -p "$dll")
  exports=$(echo "$dump" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | grep -oE '\] [A-Za-z0-9_@]+' | cut -c3- | sort -u)
  missing=""
  for f in $functions; do echo "$exports" | grep -qx "$f" || missing="$missing $f"; done
  [ -z "$missing" ] && ok "win-$bits exports all $(echo "$functions" | wc -l) header functions" || bad "win-$bits missing exports:$missing"
  decorated=$(echo "$exports" | grep -E '^_?anaf_.*@[0-9]+$' || true)
  [ -z "$decorated" ] && ok "win-$bits exports are undecorated" || bad "win-$bits decorated exports: $decorated"
  imports=$(echo "$dump" | grep -oE 'DLL Name: .*' | cut -d' ' -f3 | sort -u)
  foreign=$(echo "$imports" | tr 'A-Z' 'a-z' | grep -vE "$system_dll" || true)
  [ -z "$foreign" ] && ok "win-$bits imports only system DLLs ($(echo "$imports" | wc -l))" || bad "win-$bits imports non-system DLLs: $foreign"
  # The ODBC backend: odbc32.dll (a Windows system DLL), through its wide (...W) calls.
  echo "$imports" | grep -qix 'odbc32.dll' && ok "win-$bits imports odbc32.dll (the token store on the ERP's server)" || bad "win-$bits does not import odbc32.dll"
  if echo "$dump" | grep -qE '\bSQL(DriverConnect|ExecDirect|GetDiagRec)A\b'; then bad "win-$bits imports ANSI ODBC calls (Wine's odbc32 lacks SQLDriverConnectA)"; else ok "win-$bits uses only the wide ODBC calls for text"; fi
  echo "$imports" | grep -qi webview2loader && bad "win-$bits imports WebView2Loader" || ok "win-$bits has no WebView2Loader import"
  "$arch-w64-mingw32-objdump" -h "$dll" | grep -q '\.rsrc' && ok "win-$bits has a resource section (VERSIONINFO)" || bad "win-$bits has no .rsrc"
  strings -el "$dll" | grep -q "win-$bits" && ok "win-$bits VERSIONINFO names its bitness" || bad "win-$bits VERSIONINFO lacks bitness"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
