#!/usr/bin/env bash
# Builds the deliverable and runs the demo:
#   dist/win-x64/anaf_bridge.dll, dist/win-x86/anaf_bridge.dll  (release, stripped)
#   dist/win-x64/anaf.exe, dist/win-x86/anaf.exe  (the command line, same build)
#   dist/include/anaf_bridge.h, dist/bindings/, dist/examples/, dist/anaf-bridge-setup.exe (if makensis)
# then runs examples/demo (a C host built with mingw) under wine64 against anaf-sim.
# Options: --no-demo  build only.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
root=$PWD
demo=1
for a in "$@"; do
  case "$a" in
    --no-demo) demo=0 ;;
    *) echo "usage: scripts/dist.sh [--no-demo]" >&2; exit 2 ;;
  esac
done

declare -A BITNESS=([x86_64-pc-windows-gnu]=win-x64 [i686-pc-windows-gnu]=win-x86)
declare -A ARCH=([x86_64-pc-windows-gnu]=x86_64 [i686-pc-windows-gnu]=i686)

for target in x86_64-pc-windows-gnu i686-pc-windows-gnu; do
  echo "== building ${BITNESS[$target]} ($target)"
  # One cargo run for the DLL and anaf.exe: they share every compiled dependency.
  cargo build --release --target "$target" -p anaf-bridge -p anaf-cli
  out="dist/${BITNESS[$target]}"
  mkdir -p "$out"
  cp "$TARGET_DIR/$target/release/anaf_bridge.dll" "$TARGET_DIR/$target/release/anaf.exe" "$out/"
  "${ARCH[$target]}-w64-mingw32-strip" --strip-unneeded "$out/anaf_bridge.dll" "$out/anaf.exe"
  # Test-only stand-in for bcryptprimitives.dll, which Wine 8 lacks (never shipped).
  shim="$TARGET_DIR/wine-shim/${BITNESS[$target]}"
  mkdir -p "$shim"
  "${ARCH[$target]}-w64-mingw32-gcc" -O2 -shared -Wl,--kill-at -o "$shim/bcryptprimitives.dll" \
    tests/wine/bcryptprimitives.c -ladvapi32
done

mkdir -p dist/include
cp include/anaf_bridge.h dist/include/
for d in bindings examples; do
  if [ -d "$d" ]; then rm -rf "dist/$d"; cp -r "$d" "dist/$d"; fi
done
if [ -x installer/build.sh ]; then installer/build.sh; fi

ls -l dist/win-x64/anaf_bridge.dll dist/win-x86/anaf_bridge.dll dist/win-x64/anaf.exe dist/win-x86/anaf.exe

if [ "$demo" = 1 ]; then
  scripts/demo.sh
fi
