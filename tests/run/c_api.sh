#!/usr/bin/env bash
# The C test program (tests/c/api_test.c), written against include/anaf_bridge.h, run:
#   1. natively against the Linux library;
#   2. built with mingw against dist/win-x64/anaf_bridge.dll, under wine64;
#   3. built with mingw against dist/win-x86/anaf_bridge.dll, under 32-bit Wine when Debian's
#      i386 packages installed; otherwise (said loudly) natively against an
#      i686-unknown-linux-gnu build with gcc -m32, so 32-bit pointer bugs still surface.
set -uo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/wine.sh
pass=0; fail=0
ok()  { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
run_suite() { # name command...
  local name=$1; shift
  local out; out=$("$@" 2>&1); local rc=$?
  echo "$out" | sed "s/^/  [$name] /"
  if [ $rc -eq 0 ] && echo "$out" | grep -qE '^[0-9]+ passed, 0 failed'; then ok "$name"; else bad "$name (exit $rc)"; fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# 1. native
cargo build --lib --quiet
gcc -std=c99 -Wall -Wextra -Werror -Iinclude -o "$tmp/api_test" tests/c/api_test.c \
  -L"$TARGET_DIR/debug" -lanaf_bridge -Wl,-rpath,"$TARGET_DIR/debug"
run_suite linux-x64 env ANAF_TEST_DB="$tmp/native.db" "$tmp/api_test"

# 2./3. Windows DLLs under Wine
if [ -f dist/win-x64/anaf_bridge.dll ]; then
  wine_prepare
  for bits in x64 x86; do
    dir="$tmp/win-$bits"; mkdir -p "$dir"
    arch=x86_64; [ $bits = x86 ] && arch=i686
    cp "dist/win-$bits/anaf_bridge.dll" "$TARGET_DIR/wine-shim/win-$bits/bcryptprimitives.dll" "$dir/"
    "$arch-w64-mingw32-gcc" -std=c99 -Wall -Werror -Iinclude -o "$dir/api_test.exe" tests/c/api_test.c "$dir/anaf_bridge.dll"
    if [ $bits = x64 ]; then
      run_suite wine64-win-x64 wine_run "$dir" api_test.exe
    elif wine32_available; then
      run_suite wine32-win-x86 wine32_run "$dir" api_test.exe
    else
      echo "!!! 32-bit Wine is not installed (Debian's i386 packages did not install):"
      echo "!!! the win-x86 DLL was built and its exports checked, but not run."
      echo "!!! Running the same C tests against an i686-unknown-linux-gnu build instead."
      if cargo build --lib --quiet --target i686-unknown-linux-gnu --no-default-features; then
        gcc -m32 -std=c99 -Wall -Werror -Iinclude -o "$tmp/api_test32" tests/c/api_test.c \
          -L"$TARGET_DIR/i686-unknown-linux-gnu/debug" -lanaf_bridge -Wl,-rpath,"$TARGET_DIR/i686-unknown-linux-gnu/debug"
        run_suite linux-i686 env ANAF_TEST_DB="$tmp/i686.db" "$tmp/api_test32"
      else
        bad "i686-unknown-linux-gnu build"
      fi
    fi
  done

  # A database on a network drive. Wine's drive N: is typed "network" (GetDriveTypeW then
  # answers DRIVE_REMOTE, as for a share mapped with `net use`); the DLL must open the file
  # there without WAL, and diagnose must warn. The same file on a local drive stays WAL.
  dir="$tmp/win-x64"
  x86_64-w64-mingw32-gcc -std=c99 -Wall -Werror -Iinclude -o "$dir/open_host.exe" tests/c/open_host.c "$dir/anaf_bridge.dll"
  mkdir -p "$tmp/share" "$tmp/local"
  ln -sfn "$tmp/share" "$WINEPREFIX/dosdevices/n:"
  "$(wine64_cmd)" reg add 'HKLM\Software\Wine\Drives' /v n: /t REG_SZ /d network /f >/dev/null 2>&1
  # Wine reads the drive types when its server starts: let this one exit (saving the
  # registry) and wait until a new one reports N: as remote (DRIVE_REMOTE = 4) before the runs.
  wineserver -w 2>/dev/null
  printf '#include <windows.h>\n#include <stdio.h>\nint main(void){printf("%%u\\n",GetDriveTypeW(L"N:\\\\"));return 0;}\n' >"$tmp/drive_type.c"
  x86_64-w64-mingw32-gcc -o "$dir/drive_type.exe" "$tmp/drive_type.c"
  for _ in $(seq 20); do
    [ "$(wine_run "$dir" drive_type.exe 2>/dev/null | tr -d '\r')" = 4 ] && break
    wineserver -k 2>/dev/null; wineserver -w 2>/dev/null; sleep 0.5
  done
  netcfg() { echo '{"database": "'"$1"'", "cif": "14399840", "api_url": "https://127.0.0.1:9", "idp_url": "https://127.0.0.1:9", "public_url": "https://127.0.0.1:9", "timeout_seconds": 1, "connect_timeout_seconds": 1, "language": "en"}'; }
  # Byte 18 of an SQLite file: 1 for the rollback journal, 2 for WAL.
  journal() { python3 -c 'import sys; print({1: "rollback", 2: "wal"}.get(open(sys.argv[1], "rb").read(100)[18], "?"))' "$1" 2>/dev/null; }
  db_check() { python3 -c 'import json, sys; r = json.loads(next(l for l in open(sys.argv[1], encoding="utf-8") if l.startswith("REPORT "))[7:]); c = next(c for c in r["checks"] if c["id"] == "database"); print(c["status"], c["data"].get("network_filesystem"))' "$1" 2>/dev/null; }
  wine_run "$dir" open_host.exe "$(netcfg N:/anaf.db)" >"$tmp/net.log" 2>&1
  wine_run "$dir" open_host.exe "$(netcfg "Z:$tmp/local/anaf.db")" >"$tmp/local.log" 2>&1
  if [ "$(journal "$tmp/share/anaf.db")" = rollback ] && [ "$(journal "$tmp/local/anaf.db")" = wal ]; then
    ok "wine64: a database on a network drive is opened without WAL, a local one with WAL"
  else
    bad "wine64: journal mode on network drive: $(journal "$tmp/share/anaf.db"), local: $(journal "$tmp/local/anaf.db")"; head -3 "$tmp/net.log" "$tmp/local.log"
  fi
  if [ "$(db_check "$tmp/net.log")" = "warning smb" ] && [ "$(db_check "$tmp/local.log")" = "ok None" ]; then
    ok "wine64: diagnose warns about the database on a network drive"
  else
    bad "wine64: diagnose on network drive: $(db_check "$tmp/net.log"), local: $(db_check "$tmp/local.log")"
  fi
  "$(wine64_cmd)" reg delete 'HKLM\Software\Wine\Drives' /v n: /f >/dev/null 2>&1
  rm -f "$WINEPREFIX/dosdevices/n:"

  # The token store on PostgreSQL from the Windows DLL: Wine's odbc32 forwards the wide
  # ODBC calls to this machine's unixODBC and its "PostgreSQL Unicode" driver, so the
  # win-x64 DLL opens a server database as on Windows. The 32-bit DLL under 32-bit Wine
  # finds no 32-bit driver here (none is installed): it must say which bitness it needs.
  if [ -n "${ANAF_TEST_ODBC_POSTGRES:-}" ]; then
    port=$(sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$ANAF_TEST_ODBC_POSTGRES")
    pg() { PGPASSWORD=anaf-test psql -h 127.0.0.1 -p "$port" -U anaf -d "$1" -tAq -c "$2" 2>&1; }
    pg anaf "DROP DATABASE IF EXISTS anaf_wine" >/dev/null; pg anaf "CREATE DATABASE anaf_wine" >/dev/null
    odbc=${ANAF_TEST_ODBC_POSTGRES/Database=anaf;/Database=anaf_wine;}
    odbccfg() { echo '{"odbc": "'"$odbc"'", "cif": "14399840", "api_url": "https://127.0.0.1:9", "idp_url": "https://127.0.0.1:9", "public_url": "https://127.0.0.1:9", "timeout_seconds": 1, "connect_timeout_seconds": 1, "language": "en"}'; }
    wine_run "$dir" open_host.exe "$(odbccfg)" >"$tmp/pg64.log" 2>&1
    server_check() { python3 -c 'import json, sys; r = json.loads(next(l for l in open(sys.argv[1], encoding="utf-8") if l.startswith("REPORT "))[7:]); c = next(c for c in r["checks"] if c["id"] == "database"); print(c["status"], c["data"].get("backend"), c["data"].get("server"), c["data"].get("schema_version"))' "$1" 2>/dev/null; }
    schema=$(awk '/#define ANAF_SCHEMA_VERSION/ {print $3}' include/anaf_bridge.h)
    if [ "$(server_check "$tmp/pg64.log")" = "ok odbc PostgreSQL $schema" ] && [ "$(pg anaf_wine "SELECT version FROM anaf_schema")" = "$schema" ]; then
      ok "wine64: the win-x64 DLL keeps its tables on PostgreSQL through Wine's odbc32 and unixODBC"
    else
      bad "wine64 + PostgreSQL: $(server_check "$tmp/pg64.log") / server: $(pg anaf_wine "SELECT version FROM anaf_schema")"; head -c 600 "$tmp/pg64.log"; echo
    fi
    if wine32_available; then
      dir32="$tmp/win-x86"
      i686-w64-mingw32-gcc -std=c99 -Wall -Werror -Iinclude -o "$dir32/open_host.exe" tests/c/open_host.c "$dir32/anaf_bridge.dll"
      wine32_run "$dir32" open_host.exe "$(odbccfg)" >"$tmp/pg32.log" 2>&1
      if grep -q "^OPEN ANAF_ERR_DATABASE: .*32-bit ERP needs a 32-bit ODBC driver" "$tmp/pg32.log"; then
        ok "wine32: without a 32-bit driver the win-x86 DLL says a 32-bit ODBC driver is needed"
      else
        bad "wine32 + PostgreSQL without a 32-bit driver"; head -c 600 "$tmp/pg32.log"; echo
      fi
    fi
  elif [ -n "${CI:-}" ]; then
    bad "ANAF_TEST_ODBC_POSTGRES is not set (scripts/test.sh starts the server)"
  else
    echo "!!! ANAF_TEST_ODBC_POSTGRES not set: the Windows DLL against PostgreSQL NOT TESTED"
  fi
else
  echo "!!! dist/win-x64/anaf_bridge.dll missing: run scripts/dist.sh first"; bad "Windows DLLs present"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
