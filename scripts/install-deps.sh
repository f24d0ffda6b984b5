#!/usr/bin/env bash
# Installs what building and testing anaf-bridge needs on Debian 12: mingw-w64 (the Windows
# DLLs and the C hosts run under Wine), Wine, Xvfb and WebKitGTK (the login window),
# gcc-multilib (the i686 fallback of the C tests), the toolchains of the bindings, and the
# Rust targets. Needs root (or sudo) and a Rust toolchain installed with rustup.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

echo "=== apt packages"
# A lagging mirror of another architecture's index (i386, added below for 32-bit Wine) makes
# `apt-get update` exit non-zero although the amd64 lists were fetched: go on, and let the
# install say whether anything is really missing.
$SUDO apt-get update -q || echo "!!! apt-get update reported errors (see above); continuing"
$SUDO apt-get install -y -q --no-install-recommends $(grep -v '^#' scripts/deps/apt.txt)

echo "=== 32-bit Wine (best effort: Debian's i386 packages may lag behind amd64)"
if dpkg -s wine32:i386 >/dev/null 2>&1; then
  echo "32-bit Wine already installed"
elif $SUDO dpkg --add-architecture i386 && { $SUDO apt-get update -q || true; } \
   && $SUDO apt-get install -y -q wine32:i386; then
  echo "32-bit Wine installed"
else
  # Leave apt as it was: without i386 packages the architecture can go again.
  dpkg -l | awk '$1 == "ii" && $2 ~ /:i386$/' | grep -q . || $SUDO dpkg --remove-architecture i386 || true
  echo "!!! 32-bit Wine could not be installed from Debian's i386 packages."
  echo "!!! The win-x86 DLL is still built and its exports checked; its C tests run against"
  echo "!!! an i686-unknown-linux-gnu build instead (see tests/run/c_api.sh)."
fi

echo "=== Rust targets"
rustup target add x86_64-pc-windows-gnu i686-pc-windows-gnu i686-unknown-linux-gnu
