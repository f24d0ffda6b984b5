#!/usr/bin/env bash
# Builds the Windows installer with makensis (Debian package: nsis).
#
#   installer/build.sh [OUT.exe] [x86|amd64]
#
# Reads the DLLs from $ANAF_DIST (default dist/): win-x86/anaf_bridge.dll and
# win-x64/anaf_bridge.dll (scripts/dist.sh builds them). Default output:
# $ANAF_DIST/anaf-bridge-setup.exe, a 32-bit installer that runs on 32- and 64-bit Windows.
# "amd64" makes a 64-bit installer of the same script (for wine64 without 32-bit Wine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIST=$(cd "${ANAF_DIST:-dist}" && pwd)
OUT=${1:-$DIST/anaf-bridge-setup.exe}
ARCH=${2:-x86}
for f in "$DIST/win-x86/anaf_bridge.dll" "$DIST/win-x64/anaf_bridge.dll"; do
    [ -f "$f" ] || { echo "installer/build.sh: $f is missing (run scripts/dist.sh first)" >&2; exit 1; }
done
command -v makensis >/dev/null || { echo "installer/build.sh: makensis not found (apt-get install nsis)" >&2; exit 1; }
VERSION=$(sed -n 's/^version = "\([0-9.]*\)".*/\1/p' Cargo.toml | head -1)
OUT_ABS=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
defs=(-DDIST="$DIST" -DROOT="$ROOT" -DOUTFILE="$OUT_ABS" -DVERSION="${VERSION:-0.0.0}")
[ "$ARCH" = amd64 ] && defs+=(-DTARGET_AMD64)
# makensis on Linux accepts '/' paths; the script's '\' separators are converted.
makensis -V2 -NOCD "${defs[@]}" installer/anaf-bridge.nsi
echo "installer/build.sh: built $OUT_ABS ($ARCH)"
