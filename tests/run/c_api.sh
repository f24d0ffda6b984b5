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
else
  echo "!!! dist/win-x64/anaf_bridge.dll missing: run scripts/dist.sh first"; bad "Windows DLLs present"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
