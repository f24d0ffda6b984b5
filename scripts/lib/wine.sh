# Shared by the scripts that run Windows programs under Wine (sourced, not run).
TARGET_DIR="${TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}}"
# A private prefix under the target dir, no Mono/Gecko prompts, no debug noise.
export WINEPREFIX="${WINEPREFIX:-$TARGET_DIR/wine-prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"

wine64_cmd() {
  if [ -x /usr/lib/wine/wine64 ]; then echo /usr/lib/wine/wine64;
  elif command -v wine64 >/dev/null; then command -v wine64;
  else command -v wine; fi
}

wine32_available() {
  [ -x /usr/lib/wine/wine ] && /usr/lib/wine/wine --version >/dev/null 2>&1 \
    && dpkg -s wine32:i386 >/dev/null 2>&1
}

wine_prepare() {
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    mkdir -p "$WINEPREFIX"
    "$(wine64_cmd)" wineboot --init >/dev/null 2>&1 || true
    "$(command -v wineserver || echo /usr/lib/wine/wineserver)" -w 2>/dev/null || true
  fi
}

# wine_run DIR EXE ARGS...: runs EXE (in DIR, beside the DLL and the shim) with the 64-bit loader.
wine_run() {
  local dir=$1 exe=$2; shift 2
  (cd "$dir" && timeout 120 "$(wine64_cmd)" "./$exe" "$@")
}

# wine32_run DIR EXE ARGS...: the same with the 32-bit loader.
wine32_run() {
  local dir=$1 exe=$2; shift 2
  (cd "$dir" && timeout 120 /usr/lib/wine/wine "./$exe" "$@")
}
