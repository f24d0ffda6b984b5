#!/usr/bin/env bash
# Runs every test of anaf-bridge:
#   0. starts a PostgreSQL and a MariaDB server on 127.0.0.1 with data folders of their own
#      (scripts/lib/dbservers.sh), for the ODBC backend's tests; stopped at the end;
#   1. cargo test --workspace, under xvfb-run so the login-window tests have a display;
#   2. scripts/dist.sh: builds both Windows DLLs and runs the demo under wine64;
#   3. every tests/run/*.sh: the C API natively and under Wine, the DLL exports and imports,
#      and the suites of the bindings, examples and installer.
# Ends with "N passed, M failed" over the suites; exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
source scripts/lib/dbservers.sh
passed=0; failed=0; failures=""
suite() { # name command...
  local name=$1; shift
  echo; echo "=== $name"
  local start=$SECONDS
  if "$@"; then passed=$((passed+1)); else failed=$((failed+1)); failures="$failures $name"; fi
  echo "=== $name: $((SECONDS - start)) s"
}
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
echo "=== database servers for the ODBC tests"
db_servers_start
trap db_servers_stop EXIT
suite "cargo test --workspace" xvfb-run -a -s "-screen 0 1280x1024x24" cargo test --workspace --no-fail-fast
suite "scripts/dist.sh (both DLLs + demo)" scripts/dist.sh
for t in tests/run/*.sh; do
  [ -x "$t" ] && suite "$t" xvfb-run -a -s "-screen 0 1280x1024x24" "$t"
done
echo
[ -n "$failures" ] && echo "failed suites:$failures"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
