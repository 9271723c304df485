#!/usr/bin/env bash
# bench/profile.sh — repeatable instruction counts of the Send path.
#
# Runs the baseline gRPC server and tinyhost (test-module, flow relay -> echo)
# under valgrind --tool=callgrind, sends a warm-up, zeroes the counters
# (callgrind_control -z), sends exactly PROFILE_REQUESTS calls with the
# bench load client, dumps (callgrind_control -d) and prints instructions
# per request plus the top inclusive/exclusive functions.
#
#   PROFILE_REQUESTS [20000]  PROFILE_STREAMS [8]  PROFILE_TO [relay.in]
#   PROFILE_DEADLINE_MS [10000] (0: the client sends no deadline)
#   BENCH_BUILD_DIR [<repo>/build-bench] (build it with bench/run.sh first)
#   PROFILE_OUT [<build>/bench-results/callgrind]
#   PROFILE_CASES ["baseline host"]; also: baseline-custom (heap reactor),
#     baseline-inline (heap reactor, InternalInlineable), baseline-nodd (Abseil
#     deadlock detection off), host-echo (tinyhost, `echo` node directly)
# Only 127.0.0.1; every process started is killed and reaped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
N=${PROFILE_REQUESTS:-20000}
STREAMS=${PROFILE_STREAMS:-8}
TO=${PROFILE_TO:-relay.in}
DEADLINE=${PROFILE_DEADLINE_MS:-10000}
OUT=${PROFILE_OUT:-$BUILD/bench-results/callgrind}
CLIENT=$BUILD/bench/tiny_bench_load_client
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/tiny-profile-XXXXXX)

pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK/plugins"
ln -s "$BUILD/tests/plugins/test-module.so" "$WORK/plugins/"
cat >"$WORK/flow.yaml" <<'YAML'
nodes:
  - {name: relay, module: test-module, component: relay, edges: [{port: out, to: echo.in}]}
  - {name: echo, module: test-module, component: echo}
YAML

# profile NAME TO CMD... : prints "NAME instructions/request"
profile() {
  local name=$1 to=$2
  shift 2
  local log=$WORK/$name.log
  valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$OUT/callgrind.$name.%p" "$@" >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local port="" i
  for i in $(seq 1 1200); do  # up to 120 s: valgrind starts slowly
    port=$(grep -o 'serving address=[^ ]*' "$log" 2>/dev/null | head -1 | sed 's/.*://') || true
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { echo "$name did not start" >&2; cat "$log" >&2; return 1; }
  timeout 300 "$CLIENT" --address "127.0.0.1:$port" --to "$to" --requests 500 --streams "$STREAMS" \
    --deadline-ms "$DEADLINE" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  timeout 600 "$CLIENT" --address "127.0.0.1:$port" --to "$to" --requests "$N" --streams "$STREAMS" \
    --deadline-ms "$DEADLINE" >"$WORK/$name.client"
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill -TERM "$pid"
  wait "$pid" || true
  local dump=$OUT/callgrind.$name.$pid.1  # the -d dump: exactly the N requests
  local total
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  echo "$name: $(cat "$WORK/$name.client")"
  echo "$name: $total instructions for $N requests = $((total / N)) instructions/request  ($dump)"
  callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null >"$OUT/$name.inclusive.txt"
  callgrind_annotate --inclusive=no --threshold=100 "$dump" 2>/dev/null >"$OUT/$name.exclusive.txt"
}

BASE=$BUILD/bench/tiny_bench_baseline_server
HOST=("$BUILD/host/tinyhost" run --plugin-dir "$WORK/plugins" --flow "$WORK/flow.yaml" --listen 127.0.0.1:0)
for c in ${PROFILE_CASES:-baseline host}; do
  case $c in
    baseline) profile baseline echo.in "$BASE" --listen 127.0.0.1:0 ;;
    baseline-custom) profile baseline-custom echo.in "$BASE" --listen 127.0.0.1:0 --reactor custom ;;
    baseline-inline) profile baseline-inline echo.in "$BASE" --listen 127.0.0.1:0 --reactor custom-inline ;;
    baseline-nodd) profile baseline-nodd echo.in "$BASE" --listen 127.0.0.1:0 --no-deadlock-detection ;;
    host) profile host "$TO" "${HOST[@]}" ;;
    host-echo) profile host-echo echo.in "${HOST[@]}" ;;
    *) echo "unknown case $c" >&2; exit 2 ;;
  esac
done
echo "annotations: $OUT/<case>.{inclusive,exclusive}.txt"
