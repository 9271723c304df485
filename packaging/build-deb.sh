#!/usr/bin/env bash
# Builds the Debian packages (tinyhost, tinyhost-dev) into OUT_DIR.
#   packaging/build-deb.sh [OUT_DIR] [extra cmake args...]
# Release build in build-deb/ (BUILD_DIR), prefix /usr, plugins in
# /usr/lib/tinyhost/plugins (the installed host's default --plugin-dir).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=$(realpath -m "${1:-dist}")
shift || true
BUILD_DIR=${BUILD_DIR:-build-deb}
cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_INSTALL_LIBDIR=lib \
  -DTINYHOST_BUILD_TESTS=OFF \
  "$@"
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
mkdir -p "$OUT_DIR"
cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$OUT_DIR"
rm -rf "$OUT_DIR/_CPack_Packages"
ls -l "$OUT_DIR"/*.deb
