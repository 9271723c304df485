#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for
# FUZZ_SECONDS (default 30; CI uses this default) starting from the seed
# corpus in tests/fuzz/corpus (every seed runs first) with the target's
# dictionary, if it has one. New inputs go to build-fuzz/corpus, which
# persists between local runs; tests/fuzz/corpus is never written.
# FUZZ_SECONDS=0 only replays the seed corpus once, with no mutation.
# FUZZ_SEED=N fixes libFuzzer's seed (default: random; the seed is printed,
# so a CI find can be repeated with FUZZ_SEED and the artifact).
# A crash, leak or timeout leaves its input in build-fuzz/artifacts and
# fails the script; reproduce with build-fuzz/tests/fuzz/<target>_fuzzer FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTINYHOST_BUILD_FUZZERS=ON -DTINYHOST_BUILD_TESTS=OFF
fi
cmake --build build-fuzz -j "${JOBS:-$(nproc)}" --target expression_fuzzer flow_fuzzer send_fuzzer options_fuzzer http_fuzzer
mkdir -p build-fuzz/artifacts
for f in expression flow send options http; do
  if [ "$SECONDS_EACH" = 0 ]; then
    echo "replaying the $f seed corpus"
    build-fuzz/tests/fuzz/${f}_fuzzer -runs=0 -timeout=10 -artifact_prefix=build-fuzz/artifacts/$f- \
      tests/fuzz/corpus/$f
    continue
  fi
  work=build-fuzz/corpus/$f
  mkdir -p "$work"
  dict=()
  [ -f tests/fuzz/$f.dict ] && dict=(-dict=tests/fuzz/$f.dict)
  seed=()
  [ -n "${FUZZ_SEED:-}" ] && seed=(-seed="$FUZZ_SEED")
  echo "fuzzing $f for ${SECONDS_EACH}s"
  # The whole output goes to build-fuzz/$f.log; the summary lines are shown,
  # and on a failure the end of the log (the sanitizer report).
  log=build-fuzz/$f.log
  if build-fuzz/tests/fuzz/${f}_fuzzer -max_total_time="$SECONDS_EACH" -max_len=1048576 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" "${seed[@]}" \
      -artifact_prefix=build-fuzz/artifacts/$f- "$work" tests/fuzz/corpus/$f >"$log" 2>&1; then
    grep -E 'Seed:|INITED|DONE|stat::number_of_executed_units|stat::peak_rss' "$log" || true
  else
    tail -n 80 "$log" >&2
    echo "fuzz: $f failed; the input is in build-fuzz/artifacts/, the log in $log" >&2
    exit 1
  fi
done
echo "fuzz: all targets ran without a crash"
