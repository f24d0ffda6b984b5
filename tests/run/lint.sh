#!/usr/bin/env bash
# Formatting and clippy, on Linux and for both Windows targets (where the WebView2 login
# shell, the loader glue and the platform code are compiled only).
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0; fail=0
check() { local name=$1; shift; if "$@"; then echo "ok   $name"; pass=$((pass+1)); else echo "FAIL $name"; fail=$((fail+1)); fi; }
# The DLL trusts the system's root store (and `ca_file` for the configured hosts) only: no
# root bundle compiled in. webpki-roots comes back with a TLS feature such as oauth2's or
# reqwest's `rustls-tls`; its name in the DLL's dependency graph fails this check.
no_bundled_roots() {
  local t found=0
  for t in x86_64-unknown-linux-gnu x86_64-pc-windows-gnu i686-pc-windows-gnu; do
    if cargo tree -p anaf-bridge -e normal --target "$t" --prefix none --format '{p}' | grep -q '^webpki-roots '; then
      echo "webpki-roots is in anaf-bridge's dependencies for $t:"
      cargo tree -p anaf-bridge -e normal,features --target "$t" -i webpki-roots | head -20
      found=1
    fi
  done
  [ $found -eq 0 ]
}
check "cargo fmt --check" cargo fmt --all -- --check
check "no bundled root certificates (webpki-roots)" no_bundled_roots
check "clippy linux (all targets)" cargo clippy --workspace --all-targets --quiet -- -D warnings
check "clippy x86_64-pc-windows-gnu" cargo clippy -p anaf-bridge --lib --quiet --target x86_64-pc-windows-gnu -- -D warnings
check "clippy i686-pc-windows-gnu" cargo clippy -p anaf-bridge --lib --quiet --target i686-pc-windows-gnu -- -D warnings
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
