#!/usr/bin/env bash
# Builds the host, the plugins and the runtime tests with ThreadSanitizer
# (build-tsan/) and runs the tests that race on purpose: reloads under 64
# callers then a drain with remote calls open, drain races, the scheduler
# and the client pool. A report fails the test (TSan's exit code 66).
# gRPC, protobuf and libstdc++ come from Debian uninstrumented; the
# reports TSan cannot judge inside them are suppressed in
# scripts/tsan.supp (each entry says why), never ours.
# Extra arguments go to ctest (e.g. -R reload_stress).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
SAN="-fsanitize=thread -fno-omit-frame-pointer"
if [ ! -f build-tsan/build.ninja ]; then
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
    -DCMAKE_EXE_LINKER_FLAGS="$SAN" -DCMAKE_SHARED_LINKER_FLAGS="$SAN" -DCMAKE_MODULE_LINKER_FLAGS="$SAN"
fi
TESTS='integration_reload_stress|integration_drain|scheduler_test|client_pool_test|thread_pool_test'
cmake --build build-tsan -j "${JOBS:-$(nproc)}" --target tinyhost test-module test-module-b common-module \
  tiny_python_proto scheduler_test client_pool_test thread_pool_test
TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure --timeout 1500 -R "$TESTS" "$@"
