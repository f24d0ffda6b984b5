#!/usr/bin/env bash
# The Windows login shell under wine64 (tests/login_wine.rs): the runtime check, the STA UI
# thread, the window owned by and modal to a host window (the top-level window of a control
# passed, its earlier state kept, the desktop refused), five calls in one process.
# Opt-in in `cargo test` because it needs dist/win-x64/anaf_bridge.dll, built by dist.sh
# before this suite runs.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ ! -f dist/win-x64/anaf_bridge.dll ]; then
  echo "FAIL dist/win-x64/anaf_bridge.dll missing (run scripts/dist.sh)"; echo "0 passed, 1 failed"; exit 1
fi
source scripts/lib/wine.sh
wine_prepare
ANAF_WIN64_DLL="$PWD/dist/win-x64/anaf_bridge.dll" cargo test -p anaf-bridge --test login_wine -- --ignored
