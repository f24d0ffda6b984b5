#!/usr/bin/env bash
# Formatting and clippy, on Linux and for both Windows targets (where the WebView2 login
# shell, the loader glue and the platform code are compiled only).
set -uo pipefail
cd "$(dirname "$0")/../.."
pass=0; fail=0
check() { local name=$1; shift; if "$@"; then echo "ok   $name"; pass=$((pass+1)); else echo "FAIL $name"; fail=$((fail+1)); fi; }
check "cargo fmt --check" cargo fmt --all -- --check
check "clippy linux (all targets)" cargo clippy --workspace --all-targets --quiet -- -D warnings
check "clippy x86_64-pc-windows-gnu" cargo clippy -p anaf-bridge --lib --quiet --target x86_64-pc-windows-gnu -- -D warnings
check "clippy i686-pc-windows-gnu" cargo clippy -p anaf-bridge --lib --quiet --target i686-pc-windows-gnu -- -D warnings
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
