#!/usr/bin/env bash
# Regenerates include/anaf_bridge.h from src/ffi with cbindgen (through build.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
ANAF_BRIDGE_WRITE_HEADER=1 cargo build --lib --quiet
echo "include/anaf_bridge.h updated"
