#!/usr/bin/env bash
# bench/run.sh — the benchmark grid: tinyhost against bare baselines.
#
# Builds in its own build dir (Release, benches on), then runs bench/grid.py:
#   - gRPC Send at 1x1, 1x8, 4x16 (connections x streams) with the C++
#     callback client and with h2load (gRPC framing), against
#       baseline          bare gRPC C++ callback echo server (same proto)
#       host relay->echo  tinyhost + test-module: relay -> echo (a local passthrough)
#       host echo         tinyhost + test-module: echo directly
#       host+admin relay->echo  the same with --admin-listen on, /metrics
#                         scraped every second (the cost of counting)
#     alternating baseline and hosts in every round (the order flips each round);
#   - the HTTP flow (http_server -> transform -> response) vs a bare Beast
#     server, with wrk ("n/a" while http-module.so is not built);
#   - tinyhost idle VmRSS and start -> "serving" time (median of N starts);
#   - the Google Benchmark micro-benchmarks (per-hop cost, mappings);
# and prints a table of medians of the per-round ratios host/baseline.
#
# Everything listens on and talks to 127.0.0.1 only; every process started
# is killed and reaped on exit (trap here, try/finally in grid.py).
#
# Environment (defaults in brackets; the defaults take about 6-8 minutes):
#   BENCH_BUILD_DIR   [<repo>/build-bench]   BENCH_SKIP_BUILD [0]
#   BENCH_ROUNDS      [3]      rounds of the alternating grid
#   BENCH_DURATION    [3]      measured seconds per run (whole seconds for h2load/wrk)
#   BENCH_WARMUP      [1]      unmeasured seconds before each run
#   BENCH_GRID        ["1x1 1x8 4x16"]       BENCH_TOOLS ["cpp h2load"]
#   BENCH_HTTP_CONNS  ["1 16"] wrk connections
#   BENCH_STARTS      [7]      starts for the start-up median
#   BENCH_MICRO       [1]      run the micro-benchmarks; BENCH_MICRO_REPS [5]
#   BENCH_DEADLINE_MS [10000]  deadline the C++ client sets (0: none, like h2load)
#   BENCH_DATA        ['{"x":1,"msg":"hello"}']  the Message.data sent
#   BENCH_ADMIN       [1]      add the admin-on host to the gRPC grid
#   BENCH_SEND_COUNT  [100000] `tinyhost send` vs load_client on one host:
#                              requests per run; BENCH_SEND_CONCURRENCY [64]
#                              calls on one channel
#   BENCH_ONLY        ["idle micro grpc send http"]  the sections to run
#   BENCH_HTTP_MODULE_SO       an http-module.so to use for the HTTP row instead
#   BENCH_HOST_BUILD  [the build dir]  take tinyhost, test-module.so and the
#                              plugins from this build tree instead (an older
#                              commit's, for a before/after on one machine)
#   BENCH_OUT         [<build>/bench-results]    where tables and raw JSON go
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BENCH_BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build-bench}

for tool in h2load wrk python3; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done

if [ "${BENCH_SKIP_BUILD:-0}" != "1" ]; then
  cmake -S "$ROOT" -B "$BENCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DTINYHOST_BUILD_BENCH=ON -DTINYHOST_BUILD_TESTS=ON >/dev/null
  ninja -C "$BENCH_BUILD_DIR" -j"${BENCH_JOBS:-2}" tinyhost test-module common-module http-module tiny_bench
fi

child=""
cleanup() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

python3 "$ROOT/bench/grid.py" &
child=$!
wait "$child"
