#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for
# FUZZ_SECONDS (default 20) from the seed corpus in tests/fuzz/corpus.
# FUZZ_SECONDS=0 replays the seed corpus once, with no mutation: a
# deterministic regression check (what CI runs).
# A crash leaves its input in build-fuzz/artifacts and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-20}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTINYHOST_BUILD_FUZZERS=ON -DTINYHOST_BUILD_TESTS=OFF
fi
cmake --build build-fuzz -j "${JOBS:-$(nproc)}" --target expression_fuzzer flow_fuzzer send_fuzzer
mkdir -p build-fuzz/artifacts
for f in expression flow send; do
  if [ "$SECONDS_EACH" = 0 ]; then
    echo "replaying the $f seed corpus"
    build-fuzz/tests/fuzz/${f}_fuzzer -runs=0 -timeout=10 -artifact_prefix=build-fuzz/artifacts/$f- \
      tests/fuzz/corpus/$f
    continue
  fi
  work=build-fuzz/corpus/$f
  mkdir -p "$work"
  echo "fuzzing $f for ${SECONDS_EACH}s"
  build-fuzz/tests/fuzz/${f}_fuzzer -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 \
    -artifact_prefix=build-fuzz/artifacts/$f- "$work" tests/fuzz/corpus/$f
done
echo "fuzz: all targets ran without a crash"
