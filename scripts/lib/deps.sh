# Sourced by scripts/dist.sh and scripts/test.sh: on a machine that lacks the tools, run
# scripts/install-deps.sh first, so the two README commands work on a fresh Debian.
need_deps() {
  local t
  for t in x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc xvfb-run wine pkg-config jq curl makensis fpc mcs mono; do
    command -v "$t" >/dev/null 2>&1 || return 0
  done
  pkg-config --exists webkit2gtk-4.1 || return 0
  [ -f /usr/include/sql.h ] && [ -x /usr/sbin/mariadbd ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || return 0
  rustup target list --installed 2>/dev/null | grep -q i686-pc-windows-gnu || return 0
  return 1
}
if need_deps; then
  echo "=== tools missing: running scripts/install-deps.sh"
  scripts/install-deps.sh
fi
