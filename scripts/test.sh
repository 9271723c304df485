#!/usr/bin/env bash
# Sets up, builds, and runs every test:
#   1. the build in build/ and its ctest suite (unit, loader fixtures, real
#      hosts over loopback, HTTP, packaging);
#   2. each libFuzzer target (clang, ASan+UBSan) fuzzed for FUZZ_SECONDS
#      (default 30) from the seed corpus in tests/fuzz/corpus; every seed runs
#      first. FUZZ_SECONDS=0 only replays the seeds; TINYHOST_FUZZ=0 skips;
#   3. the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#      in build-asan/ (TINYHOST_SANITIZE=0 skips it; from scratch it roughly
#      doubles the build time).
# Extra arguments go to the first ctest (e.g. -R scheduler).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 1500 "$@"

if [ "${TINYHOST_FUZZ:-1}" = 1 ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} ./scripts/fuzz.sh
fi

if [ "${TINYHOST_SANITIZE:-1}" = 1 ]; then
  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  if [ ! -f build-asan/build.ninja ]; then
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
      -DCMAKE_EXE_LINKER_FLAGS="$SAN" -DCMAKE_SHARED_LINKER_FLAGS="$SAN" -DCMAKE_MODULE_LINKER_FLAGS="$SAN"
  fi
  cmake --build build-asan -j "${JOBS:-$(nproc)}"
  # The packaging test rebuilds the project in its own trees; the plain run
  # above covers it. Everything else runs under the sanitizers.
  # scripts/lsan.supp: Graphviz's one-time font and plugin caches (see there).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp \
    ctest --test-dir build-asan --output-on-failure --timeout 1500 -E 'packaging'
fi

